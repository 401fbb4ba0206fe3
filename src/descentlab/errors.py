"""The error type for bad input: what the CLI and the web app turn into one clear line.

Library code raises :class:`InputError` (a ``ValueError``) for a value the user gave — a
hyper-parameter out of range, an unknown name, a bad file — and :class:`InputTypeError` (also a
``TypeError``) for a value of the wrong type. The CLI catches these, and only these, so a genuine
bug still ends in a traceback that can be reported.
"""

from __future__ import annotations


class InputError(ValueError):
    """A bad value from the user; the message names the value and what is allowed."""


class InputTypeError(InputError, TypeError):
    """A value of the wrong type (a string where a number belongs, …)."""
