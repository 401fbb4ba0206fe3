"""The error type for bad input: what the CLI and the web app turn into one clear line.

Library code raises :class:`InputError` (a ``ValueError``) for a value the user gave — a
hyper-parameter out of range, an unknown name, a bad file — and :class:`InputTypeError` (also a
``TypeError``) for a value of the wrong type. The CLI catches these, and only these, so a genuine
bug still ends in a traceback that can be reported.
"""

from __future__ import annotations

import re


class InputError(ValueError):
    """A bad value from the user; the message names the value and what is allowed."""


class InputTypeError(InputError, TypeError):
    """A value of the wrong type (a string where a number belongs, …)."""


MESSAGE_LIMIT = 400
"""The most characters of one error message shown to the user (CLI line or web message)."""

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")     # candidates; _escape keeps the printable ones
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(match: re.Match) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    if ch.isprintable() and ch not in _BIDI:
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escaped(text: object) -> str:
    """``text`` with every character that is not printable (C0 and C1 controls, DEL, line and
    paragraph separators, bidirectional overrides, …) written as a visible escape (``\\x1b``,
    ``\\n``, ``\\u202e``), so that echoing it cannot move the cursor, retitle a terminal or reorder
    what follows."""
    return _UNPRINTABLE.sub(_escape, str(text))


def one_line(text: object, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` as one safe line of at most ``limit`` characters: control characters escaped
    (:func:`escaped`) and the middle cut out, with the count of what was left out, when too long."""
    line = escaped(text)
    if len(line) <= limit:
        return line
    keep = max(limit - 40, 20)
    head, tail = line[: keep * 3 // 4], line[len(line) - keep // 4:]
    return f"{head} … [{len(line) - len(head) - len(tail):,} characters left out] … {tail}"
