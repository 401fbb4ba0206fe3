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


MESSAGE_LIMIT = 400
"""The most characters of one error message shown to the user (CLI line or web message)."""

_CONTROL = {**{c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))},
            ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def escaped(text: object) -> str:
    """``text`` with every control character (C0, DEL, C1: terminal escapes, newlines) written as a
    visible escape (``\\x1b``, ``\\n``), so that echoing it cannot move the cursor or retitle a terminal."""
    return str(text).translate(_CONTROL)


def one_line(text: object, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` as one safe line of at most ``limit`` characters: control characters escaped
    (:func:`escaped`) and the middle cut out, with the count of what was left out, when too long."""
    line = escaped(text)
    if len(line) <= limit:
        return line
    keep = max(limit - 40, 20)
    head, tail = line[: keep * 3 // 4], line[len(line) - keep // 4:]
    return f"{head} … [{len(line) - len(head) - len(tail):,} characters left out] … {tail}"
