r"""A small, safe expression language for losses and models, with exact vectorised gradients.

::

    >>> from descentlab.problems.expression import parse
    >>> f = parse("(1 - x)**2 + 100*(y - x**2)**2", variables=("x", "y"))
    >>> float(f.evaluate({"x": -1.5, "y": 2.0}))
    12.5
    >>> value, (gx, gy) = f.value_and_grad({"x": -1.5, "y": 2.0})
    >>> float(gx), float(gy)
    (-155.0, -50.0)

**The language.** Numbers (``3``, ``0.5``, ``1e-3``), the declared variable names, the operators
``+ - * / **`` (``**`` binds tighter than unary minus and is right-associative, as in Python:
``-x**2`` is −(x²), ``2**3**2`` is 2⁹), parentheses, the constants :data:`CONSTANTS` (``pi``,
``e``) and calls of the one-argument functions in :data:`FUNCTIONS` (``sin``, ``cos``, ``tan``,
``exp``, ``log``, ``sqrt``, ``abs``, ``tanh``, ``sigmoid``, ``softplus``, ``relu``…). Nothing else:
no attribute access, subscripts, other calls, lambdas, comprehensions, strings, comparisons.
Tabs and line breaks count as spaces.

**Safety.** The text is parsed by :func:`ast.parse` (which only builds a syntax tree; it runs
nothing) and the tree is walked against the whitelist above; nothing is ever passed to
``eval``, ``exec`` or a symbolic package. Limits: at most :data:`MAX_LENGTH` characters and
:data:`MAX_DEPTH` levels of nesting (a chain ``a + b - c + …`` or ``a * b / c …`` counts as one
level, so long sums and products are fine). Constant parts are folded once in float64 — never
with Python's big integers, so ``9**9**9`` takes microseconds — and one that is not finite
(``9**9**9``, ``1/0``, ``log(0)``) is refused, because it would make the loss infinite
everywhere. Evaluation runs under ``np.errstate(all="ignore")``: a value that overflows or leaves
a function's domain (``log`` of a negative number) becomes ``inf`` or ``nan`` without a warning,
and :func:`descentlab.run` reports it as divergence.

**Gradients** are exact: the tree is compiled to a flat list of numpy operations (common
subexpressions computed once) and differentiated in reverse mode, so the whole gradient costs
about two to three evaluations whatever the number of variables. Every array operation
broadcasts, so a 150×150 grid of points is evaluated at once.

**Errors.** Every problem with the text raises :class:`ExpressionError` (a ``ValueError``). Its
``str()`` is the one-line summary followed by the expression and a caret line under the
offending part::

    column 12: unknown name 'sni'; did you mean 'sin'?
      x**2 + 3 * sni(x*y)
                 ^^^

``error.summary`` (also ``error.one_line()``) is the first line alone, for a command line;
``error.column`` is the 1-based column (None when the error has no position).
"""

from __future__ import annotations

import ast
import difflib
import keyword
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from descentlab.errors import MESSAGE_LIMIT, InputError, InputTypeError, one_line

MAX_LENGTH = 2000
"""The longest expression accepted, in characters."""

MAX_DEPTH = 60
"""The deepest nesting accepted (see the module docstring for how chains count)."""

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
"""Named constants."""


def _sigmoid(a):
    return np.exp(-np.logaddexp(0.0, -a))  # never overflows; exact for large |a|


def _relu_slope(a, out):
    return np.where(a > 0, 1.0, 0.0)


_LN2, _LN10 = math.log(2.0), math.log(10.0)

# name -> (numpy function, derivative given (argument, value))
_FUNCTIONS: dict[str, tuple[Callable, Callable]] = {
    "sin": (np.sin, lambda a, out: np.cos(a)),
    "cos": (np.cos, lambda a, out: -np.sin(a)),
    "tan": (np.tan, lambda a, out: 1.0 + out * out),
    "asin": (np.arcsin, lambda a, out: 1.0 / np.sqrt(1.0 - a * a)),
    "acos": (np.arccos, lambda a, out: -1.0 / np.sqrt(1.0 - a * a)),
    "atan": (np.arctan, lambda a, out: 1.0 / (1.0 + a * a)),
    "sinh": (np.sinh, lambda a, out: np.cosh(a)),
    "cosh": (np.cosh, lambda a, out: np.sinh(a)),
    "tanh": (np.tanh, lambda a, out: 1.0 - out * out),
    "asinh": (np.arcsinh, lambda a, out: 1.0 / np.sqrt(a * a + 1.0)),
    "acosh": (np.arccosh, lambda a, out: 1.0 / np.sqrt(a * a - 1.0)),
    "atanh": (np.arctanh, lambda a, out: 1.0 / (1.0 - a * a)),
    "exp": (np.exp, lambda a, out: out),
    "expm1": (np.expm1, lambda a, out: out + 1.0),
    "log": (np.log, lambda a, out: 1.0 / a),
    "log2": (np.log2, lambda a, out: 1.0 / (a * _LN2)),
    "log10": (np.log10, lambda a, out: 1.0 / (a * _LN10)),
    "log1p": (np.log1p, lambda a, out: 1.0 / (1.0 + a)),
    "sqrt": (np.sqrt, lambda a, out: 0.5 / out),
    "cbrt": (np.cbrt, lambda a, out: 1.0 / (3.0 * out * out)),
    "abs": (np.abs, lambda a, out: np.sign(a)),
    "sigmoid": (_sigmoid, lambda a, out: out * (1.0 - out)),
    "softplus": (lambda a: np.logaddexp(0.0, a), lambda a, out: _sigmoid(a)),
    "relu": (lambda a: np.maximum(a, 0.0), _relu_slope),
}
for _name in ("asin", "acos", "atan", "asinh", "acosh", "atanh"):
    _FUNCTIONS["arc" + _name[1:]] = _FUNCTIONS[_name]  # numpy's spellings too

FUNCTIONS: tuple[str, ...] = tuple(_FUNCTIONS)
"""The functions an expression may call, each with one argument. ``abs`` has derivative
sign(a) (0 at 0) and ``relu`` = max(a, 0) has 0 at 0; ``sigmoid`` = 1/(1 + e⁻ᵃ) and
``softplus`` = log(1 + eᵃ) are evaluated without overflow."""

_HINTS = {
    "ln": "use log (the natural logarithm)",
    "pow": "use a**b for powers",
    "power": "use a**b for powers",
    "square": "use a**2",
    "max": "max is not available; relu(a - b) + b is max(a, b)",
    "min": "min is not available; a - relu(a - b) is min(a, b)",
    "sign": "sign is not available (its derivative is zero almost everywhere)",
    "atan2": "atan2 is not available; use atan(y/x)",
}
_MODULES = ("math", "np", "numpy", "jnp", "jax", "torch", "cmath", "mpmath", "sympy")

# What each disallowed construct is called in an error message.
_DISALLOWED: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "a subscript (indexing)",
    ast.Slice: "a slice",
    ast.Lambda: "a lambda function",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension (generator expression)",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.Compare: "a comparison",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "a conditional expression (… if … else …)",
    ast.NamedExpr: "an assignment (:=)",
    ast.List: "a list",
    ast.Tuple: "a tuple (a comma outside a function call)",
    ast.Set: "a set",
    ast.Dict: "a dictionary",
    ast.Starred: "a starred expression",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'",
}
_OPERATORS: dict[type, tuple[str, str]] = {  # disallowed binary and unary operators
    ast.Mod: ("%", "the operator % (remainder)"),
    ast.FloorDiv: ("//", "the operator // (floor division)"),
    ast.MatMult: ("@", "the operator @ (matrix product)"),
    ast.BitXor: ("^", "the operator ^ (bitwise xor; use ** for powers)"),
    ast.BitAnd: ("&", "the operator & (bitwise and)"),
    ast.BitOr: ("|", "the operator | (bitwise or)"),
    ast.LShift: ("<<", "the operator << (shift)"),
    ast.RShift: (">>", "the operator >> (shift)"),
    ast.Invert: ("~", "the operator ~ (bitwise not)"),
    ast.Not: ("not", "'not'"),
}


class ExpressionError(InputError):
    """An expression that cannot be used, with where and why.

    Attributes:
        summary: one line, e.g. ``"column 12: unknown name 'sni'; did you mean 'sin'?"``
            (also returned by :meth:`one_line`).
        expression: the text (tabs and line breaks shown as spaces), or None.
        column: the 1-based column where the problem starts, or None.
        span: ``(start, end)`` 0-based character offsets of the offending part, or None.

    ``str(error)`` is the summary, then, when the error has a position, the expression and a line
    of carets under the offending part (a window of the expression when it is long).
    """

    def __init__(self, message: str, expression: str | None = None,
                 span: tuple[int, int] | None = None):
        self.message = message
        self.expression = expression
        self.span = span if expression is not None else None
        self.column = None if self.span is None else self.span[0] + 1
        summary = message if self.column is None else f"column {self.column}: {message}"
        self.summary = one_line(summary, MESSAGE_LIMIT)  # control characters escaped, long text cut
        super().__init__(self._display())

    def one_line(self) -> str:
        """The one-line summary (the first line of ``str(error)``)."""
        return self.summary

    def _display(self) -> str:
        if self.span is None or self.expression is None:
            return self.summary
        text = self.expression
        start, end = self.span
        end = max(end, start + 1)
        lo, hi = 0, len(text)
        width = 76
        if hi > width:  # show a window around the error
            lo = max(0, min(start - 20, hi - width))
            hi = min(len(text), lo + width)
        shown = [_visible(ch) for ch in text[lo:hi]]  # a control character as its escape, \x1b
        prefix = "…" if lo > 0 else ""
        suffix = "…" if hi < len(text) else ""
        before = sum(len(v) for v in shown[:start - lo])
        width = sum(len(v) for v in shown[start - lo:max(end, start + 1) - lo])
        marks = " " * (len(prefix) + before) + "^" * max(1, width)
        return f"{self.summary}\n  {prefix}{''.join(shown)}{suffix}\n  {marks}"

    def __reduce__(self):
        return (type(self), (self.message, self.expression, self.span))


def _visible(ch: str) -> str:
    """``ch``, or its escape (``\\x1b``, ``\\u2028``) when it is not printable."""
    return ch if ch.isprintable() else repr(ch)[1:-1]


def _q(text: str, limit: int = 60) -> str:
    """``repr(text)``, the end of a long text cut off: a name or part quoted in a message."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


# ---- the compiled form: a flat tape of numpy operations ----------------------------------------

_CONST, _VAR, _NEG, _ADD, _SUB, _MUL, _DIV, _POW, _SQUARE, _CALL = range(10)
_BINARY = {ast.Add: _ADD, ast.Sub: _SUB, ast.Mult: _MUL, ast.Div: _DIV, ast.Pow: _POW}
_UFUNC = {_ADD: np.add, _SUB: np.subtract, _MUL: np.multiply, _DIV: np.divide, _POW: np.power}


@dataclass(frozen=True)
class _Op:
    code: int
    args: tuple[int, ...] = ()
    value: float | None = None   # _CONST
    name: str | None = None      # _VAR, _CALL
    deps: frozenset[str] = frozenset()


def _apply(code: int, name: str | None, vals: Sequence) -> object:
    """One operation on numpy values (np.float64 or arrays), under the caller's errstate."""
    if code == _NEG:
        return np.negative(vals[0])
    if code == _SQUARE:
        return np.multiply(vals[0], vals[0])
    if code == _CALL:
        return _FUNCTIONS[name][0](vals[0])
    return _UFUNC[code](vals[0], vals[1])


class _Builder:
    """Builds the tape bottom-up, folding constants and sharing repeated subexpressions."""

    def __init__(self, text: str):
        self.text = text
        self.ops: list[_Op] = []
        self.index: dict[tuple, int] = {}

    def _add(self, op: _Op, key: tuple) -> int:
        if key not in self.index:
            self.index[key] = len(self.ops)
            self.ops.append(op)
        return self.index[key]

    def const(self, value: float) -> int:
        v = float(value)
        return self._add(_Op(_CONST, value=v), ("c", v.hex()))

    def var(self, name: str) -> int:
        return self._add(_Op(_VAR, name=name, deps=frozenset((name,))), ("v", name))

    def op(self, code: int, args: tuple[int, ...], span: tuple[int, int], name: str | None = None) -> int:
        children = [self.ops[a] for a in args]
        if all(c.code == _CONST for c in children):
            with np.errstate(all="ignore"):
                v = float(_apply(code, name, [np.float64(c.value) for c in children]))
            if not math.isfinite(v):
                part = self.text[span[0]:span[1]]
                raise ExpressionError(f"the constant part {_q(part)} evaluates to {v} in float64, "
                                      "which would make the loss non-finite everywhere", self.text, span)
            return self.const(v)
        if code == _POW and children[1].code == _CONST and children[1].value == 2.0:
            code, args = _SQUARE, args[:1]
        deps = frozenset().union(*(c.deps for c in children))
        return self._add(_Op(code, args, name=name, deps=deps), ("o", code, name, args))


# ---- parsing -----------------------------------------------------------------------------------

_WHITESPACE = str.maketrans({c: " " for c in "\t\n\r\x0b\x0c"})


def _clean(text: object) -> str:
    if not isinstance(text, str):
        raise InputTypeError(f"an expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; at most {MAX_LENGTH} "
                              "are allowed")
    text = text.translate(_WHITESPACE)
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise ExpressionError(f"the character U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed')}) "
                                  "is not allowed", text, (i, i + 1))
    if not text.strip():
        raise ExpressionError("the expression is empty")
    return text


def _syntax_error(err: SyntaxError, text: str) -> ExpressionError:
    msg = re.sub(r"\s*\((?:detected at line \d+|<unknown>, line \d+)\)", "", str(err.msg or "invalid syntax"))
    msg = msg.replace(". Perhaps you forgot a comma?", "; is an operator such as * missing?")
    if not err.offset or err.lineno not in (1, None):  # at the end of the text
        end = len(text.rstrip())
        return ExpressionError("syntax error: the expression ends too early" if msg == "invalid syntax"
                               else f"syntax error: {msg}", text, (end, end + 1))
    col = max(0, min(len(text), err.offset - 1))
    end = err.end_offset - 1 if err.end_offset and err.end_lineno in (1, None) else col + 1
    if msg.startswith("invalid decimal literal"):
        number = re.compile(r"[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9]+)?")
        for m in number.finditer(text):
            after = text[m.end():m.end() + 1]
            if m.start() <= col <= m.end() and (after.isalpha() or after == "_") and after not in "eEjJ":
                col, end = m.start(), m.end() + 1
                msg += f" (write {m.group()}*{after} for a product)"
                break
    return ExpressionError(f"syntax error: {msg}", text, (col, max(end, col + 1)))


def _tree(text: str) -> ast.expr:
    """Parse cleaned text into a Python syntax tree (nothing is executed)."""
    # A quick bound on nesting before the parser: deeply nested input would only exhaust it.
    level = 0
    for i, ch in enumerate(text):
        level += (ch in "([{") - (ch in ")]}")
        if level > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels "
                                  "of parentheses)", text, (i, i + 1))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escape sequences in strings
            return ast.parse(text, mode="eval").body
    except SyntaxError as err:
        raise _syntax_error(err, text) from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)",
                              text) from None
    except ValueError as err:  # e.g. null bytes on some Python versions
        raise ExpressionError(f"syntax error: {err}", text) from None


def _raise(message: str, text: str, span: tuple[int, int]):
    raise ExpressionError(message, text, span) from None


class _Converter:
    """Walks a syntax tree against the whitelist and builds the tape."""

    def __init__(self, text: str, variables: Sequence[str], reserved: Mapping[str, str]):
        self.text = text
        self.variables = tuple(variables)
        self.reserved = reserved
        self.builder = _Builder(text)
        self._bytes = text.encode("utf-8")
        self._ascii = text.isascii()

    # ast positions are UTF-8 byte offsets; errors show character columns
    def _char(self, offset: int) -> int:
        return offset if self._ascii else len(self._bytes[:offset].decode("utf-8", "ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self._char(getattr(node, "col_offset", 0))
        end = getattr(node, "end_col_offset", None)
        return (start, self._char(end) if end is not None else start + 1)

    def fail(self, message: str, node: ast.AST | tuple[int, int]):
        _raise(message, self.text, node if isinstance(node, tuple) else self.span(node))

    def _operator_span(self, left: ast.AST, right: ast.AST, symbol: str) -> tuple[int, int]:
        lo, hi = self.span(left)[1], self.span(right)[0]
        found = self.text.find(symbol, lo, max(hi, lo))
        return (found, found + len(symbol)) if found >= 0 else (lo, max(hi, lo + 1))

    def _suggest(self, name: str, candidates: Iterable[str]) -> str:
        pool = list(dict.fromkeys(candidates))
        lowered = {c.lower(): c for c in pool}
        close = ([lowered[name.lower()]] if name.lower() in lowered else
                 difflib.get_close_matches(name, pool, n=1, cutoff=0.6))
        return f"; did you mean {close[0]!r}?" if close else ""

    def _allowed_names(self) -> str:
        names = ", ".join(self.variables) if self.variables else "none"
        return f"the variables are {names}, the constants {', '.join(CONSTANTS)}"

    def convert(self, node: ast.AST, depth: int = 1) -> int:
        if depth > MAX_DEPTH:
            self.fail(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)", node)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY and not isinstance(node.op, ast.Pow):
            return self._chain(node, depth)
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                symbol, what = _OPERATORS.get(type(node.op), ("", f"the operator {type(node.op).__name__}"))
                self.fail(f"{what} is not allowed", self._operator_span(node.left, node.right, symbol))
            base = self.convert(node.left, depth + 1)
            exponent = self.convert(node.right, depth + 1)
            return self.builder.op(_POW, (base, exponent), self.span(node))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return self.convert(node.operand, depth + 1)
            if isinstance(node.op, ast.USub):
                operand = self.convert(node.operand, depth + 1)
                return self.builder.op(_NEG, (operand,), self.span(node))
            symbol, what = _OPERATORS.get(type(node.op), ("", f"the operator {type(node.op).__name__}"))
            s = self.span(node)
            self.fail(f"{what} is not allowed", (s[0], s[0] + len(symbol or " ")))
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.Attribute):
            self._attribute(node)
        what = _DISALLOWED.get(type(node), f"a {type(node).__name__} expression")
        self.fail(f"{what} is not allowed", node)
        raise AssertionError("unreachable")  # pragma: no cover

    def _chain(self, node: ast.BinOp, depth: int) -> int:
        """a ± b ± c … or a * b / c …: one nesting level, walked without recursion."""
        group = (ast.Add, ast.Sub) if isinstance(node.op, ast.Add | ast.Sub) else (ast.Mult, ast.Div)
        rest: list[ast.BinOp] = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, group):
            rest.append(node)
            node = node.left
        acc = self.convert(node, depth + 1)
        for bin_node in reversed(rest):
            right = self.convert(bin_node.right, depth + 1)
            acc = self.builder.op(_BINARY[type(bin_node.op)], (acc, right), self.span(bin_node))
        return acc

    def _constant(self, node: ast.Constant) -> int:
        v = node.value
        if isinstance(v, bool) or v is None or v is Ellipsis:
            self.fail(f"the constant {v!r} is not allowed (only numbers)", node)
        if isinstance(v, str | bytes):
            self.fail("a string is not allowed", node)
        if isinstance(v, complex):
            self.fail("a complex number is not allowed", node)
        if not isinstance(v, int | float):  # pragma: no cover - ast has no other constants
            self.fail(f"the constant {v!r} is not allowed", node)
        try:
            f = float(v)
        except OverflowError:
            f = math.inf
        if not math.isfinite(f):
            self.fail("the number is too large for float64", node)
        return self.builder.const(f)

    def _name(self, node: ast.Name) -> int:
        name = node.id
        if name in self.variables:
            return self.builder.var(name)
        if name in CONSTANTS:
            return self.builder.const(CONSTANTS[name])
        if name in self.reserved:
            self.fail(f"{_q(name)} is not allowed here: {self.reserved[name]}", node)
        if name in _FUNCTIONS:
            self.fail(f"{name!r} is a function; call it as {name}(…)", node)
        hint = self._suggest(name, (*self.variables, *CONSTANTS, *_FUNCTIONS))
        if not hint and name in _HINTS:
            hint = f"; {_HINTS[name]}"
        if not hint:
            hint = f" ({self._allowed_names()})"
        self.fail(f"unknown name {_q(name)}{hint}", node)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id in _MODULES:
            if node.attr in _FUNCTIONS:
                self.fail(f"attribute access is not allowed: write {node.attr}(…), not "
                          f"{node.value.id}.{node.attr}(…)", node)
            if node.attr in CONSTANTS:
                self.fail(f"attribute access is not allowed: write {node.attr}, not "
                          f"{node.value.id}.{node.attr}", node)
        self.fail(f"attribute access (.{_q(node.attr)[1:-1]}) is not allowed", node)

    def _call(self, node: ast.Call, depth: int) -> int:
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Attribute):
                self._attribute(func)
            self.fail("only the allowed functions may be called, by name", func)
        name = func.id
        if name not in _FUNCTIONS:
            if name in self.variables or name in CONSTANTS:
                self.fail(f"{_q(name)} is not a function; write {_q(name)[1:-1]}*(…) for a product", func)
            hint = self._suggest(name, _FUNCTIONS) or (f"; {_HINTS[name]}" if name in _HINTS else "")
            if hint:
                self.fail(f"unknown function {_q(name)}{hint}", func)
            self.fail(f"calling {_q(name)} is not allowed: the functions are {', '.join(FUNCTIONS)}", func)
        if node.keywords:
            self.fail(f"{name} takes no keyword arguments", node.keywords[0].value)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail("a starred argument is not allowed", arg)
        if len(node.args) != 1:
            self.fail(f"{name} takes exactly one argument, got {len(node.args)}", node)
        arg = self.convert(node.args[0], depth + 1)
        return self.builder.op(_CALL, (arg,), self.span(node), name=name)


def _check_variables(variables: Sequence[str]) -> tuple[str, ...]:
    names = tuple(variables)
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ExpressionError(f"a variable name must be an identifier such as x or p0 (not a Python "
                                  f"keyword), got {_q(name) if isinstance(name, str) else repr(name)[:60]}")
        if name in _FUNCTIONS or name in CONSTANTS:
            raise ExpressionError(f"{_q(name)} cannot be a variable: it is the name of a "
                                  f"{'function' if name in _FUNCTIONS else 'constant'}")
        if unicodedata.normalize("NFKC", name) != name:
            raise ExpressionError(f"the variable name {_q(name)} is not in normal form (NFKC); "
                                  f"use {_q(unicodedata.normalize('NFKC', name))}")
        if name in seen:
            raise ExpressionError(f"the variable {_q(name)} is declared twice")
        seen.add(name)
    return names


def names_in(text: str) -> tuple[str, ...]:
    """The names an expression uses other than as functions, in order of first appearance.

    Raises :class:`ExpressionError` for text that is not even syntactically an expression.
    """
    tree = _tree(_clean(text))
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found = sorted((n.col_offset, n.id) for n in ast.walk(tree)
                   if isinstance(n, ast.Name) and id(n) not in calls)
    return tuple(dict.fromkeys(name for _, name in found))


_PARAM = re.compile(r"p(0|[1-9][0-9]*)")


def numbered_parameters(text: str) -> tuple[str, ...]:
    """The names ``p0``, ``p1``, … an expression uses, sorted by their number (gaps allowed)."""
    return tuple(sorted((n for n in names_in(text) if _PARAM.fullmatch(n)), key=lambda n: int(n[1:])))


def parse(text: str, variables: Sequence[str], *, reserved: Mapping[str, str] | None = None) -> Expression:
    """Parse and compile ``text`` over ``variables`` (names it may use, each optional).

    Args:
        text: the expression, at most :data:`MAX_LENGTH` characters.
        variables: the names of its inputs (identifiers that are not a function or constant).
        reserved: names to refuse with an explanation (e.g. ``{"y": "the data's target"}``).

    Raises:
        ExpressionError: for every problem with the text or the names.
        TypeError: if ``text`` is not a string.
    """
    reserved = dict(reserved or {})
    names = _check_variables(variables)
    clean = _clean(text)
    conv = _Converter(clean, names, reserved)
    root = conv.convert(_tree(clean))
    ops = conv.builder.ops
    # keep only what the root needs (constant folding leaves dead constants behind)
    needed = {root}
    for i in range(root, -1, -1):
        if i in needed:
            needed.update(ops[i].args)
    renumber = {old: new for new, old in enumerate(sorted(needed))}
    tape = tuple(_Op(op.code, tuple(renumber[a] for a in op.args), op.value, op.name, op.deps)
                 for i, op in enumerate(ops) if i in needed)
    return Expression(text=text, variables=names, _tape=tape)


CHUNK_POINTS = 1 << 16
"""The most points (elements of the broadcast shape of the inputs) evaluated at once; larger
inputs are evaluated chunk by chunk, with the same result bit for bit (see :data:`WORK_BYTES`)."""

WORK_BYTES = 64 << 20
"""About the most memory the intermediate arrays of one chunk take: a chunk holds at most
``WORK_BYTES / (8·(operations + 1))`` points, so a 1000-operation expression, whose gradient keeps
every product for the reverse pass, evaluates about 8,000 points at a time."""

_NONLINEAR = frozenset((_MUL, _DIV, _POW, _SQUARE, _CALL))  # their partials read values


def _shaped(value, shape: tuple[int, ...]) -> np.ndarray:
    out = np.asarray(value, dtype=np.float64)
    return out if out.shape == shape else np.array(np.broadcast_to(out, shape))


def _chunks(shape: tuple[int, ...], points: int):
    """Indices that cut an array of ``shape`` into blocks of at most ``points`` elements: slices
    of one axis, the axes before it taken one index at a time (as length-1 slices, so every
    block keeps all the axes) and the axes after it whole. A shape within ``points`` is one
    block, the empty index ``()``."""
    if math.prod(shape) <= points:
        yield ()
        return
    axis = next(a for a in range(len(shape)) if math.prod(shape[a + 1:]) <= points)
    rows = max(1, points // math.prod(shape[axis + 1:]))
    for lead in np.ndindex(*shape[:axis]):
        head = tuple(slice(i, i + 1) for i in lead)
        for lo in range(0, shape[axis], rows):
            yield (*head, slice(lo, min(lo + rows, shape[axis])))


def _part(value, index: tuple, ndim: int):
    """The part of ``value`` (an array that broadcasts to a shape of ``ndim`` axes, aligned on the
    right as numpy aligns them) that broadcasts to the block ``index`` of that shape: a view,
    sliced only along its own axes of full length, so each operation sees the same memory layout
    as on the whole array — and gives the same bits."""
    if not index:
        return value
    offset = ndim - np.ndim(value)
    if offset >= len(index):
        return value
    shape = np.shape(value)
    return value[tuple(index[d] if shape[d - offset] != 1 else slice(None)
                       for d in range(offset, len(index)))]


@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed, compiled expression over named variables; see the module docstring.

    Attributes:
        text: the source as given.
        variables: the names it may use (each may be absent from the text).
    """

    text: str
    variables: tuple[str, ...]
    _tape: tuple[_Op, ...] = ()

    @property
    def used(self) -> frozenset[str]:
        """The variables that occur in the expression (after folding constants)."""
        return self._tape[-1].deps

    @property
    def size(self) -> int:
        """Number of operations in the compiled tape (shared subexpressions counted once)."""
        return len(self._tape)

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, variables={self.variables!r})"

    def __str__(self) -> str:
        return self.text

    def _env(self, values: Mapping[str, object]) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
        """The used variables' values as float64 arrays, and the broadcast shape of all given."""
        missing = [v for v in self.used if v not in values]
        if missing:
            raise KeyError(f"no value for {', '.join(sorted(missing))}")
        env = {k: np.asarray(values[k], dtype=np.float64) for k in self.variables if k in values}
        shape = np.broadcast_shapes(*(a.shape for a in env.values()))
        return {k: env[k] for k in self.used}, shape

    @cached_property
    def _last_use(self) -> tuple[int, ...]:
        """For each operation, the last one that reads its value (itself when none does)."""
        last = list(range(len(self._tape)))
        for i, op in enumerate(self._tape):
            for a in op.args:
                last[a] = i
        return tuple(last)

    @cached_property
    def _var_index(self) -> dict[str, int]:
        return {op.name: i for i, op in enumerate(self._tape) if op.code == _VAR}

    def _chunk_points(self) -> int:
        """Points per chunk: :data:`CHUNK_POINTS`, fewer for a long tape (:data:`WORK_BYTES`)."""
        return max(1, min(CHUNK_POINTS, WORK_BYTES // (8 * (len(self._tape) + 1))))

    def _kept_for(self, want: frozenset[str]) -> frozenset[int]:
        """The values the reverse pass toward ``want`` reads: the arguments and result of each
        nonlinear operation that carries a gradient (sums and negations read none)."""
        keep: set[int] = set()
        for i, op in enumerate(self._tape):
            if op.code in _NONLINEAR and op.deps & want:
                keep.add(i)
                keep.update(op.args)
        return frozenset(keep)

    def _forward(self, env: Mapping[str, np.ndarray], keep: frozenset[int] = frozenset()) -> list:
        """The values of the tape's operations; each one not in ``keep`` is dropped (None) once
        its last reader has run, so a long sum holds a handful of arrays, not one per operation.
        The result, the last value, is always there."""
        tape, last = self._tape, self._last_use
        vals: list = [None] * len(tape)
        with np.errstate(all="ignore"):
            for i, op in enumerate(tape):
                if op.code == _CONST:
                    vals[i] = np.float64(op.value)
                elif op.code == _VAR:
                    vals[i] = env[op.name]
                else:
                    vals[i] = _apply(op.code, op.name, [vals[a] for a in op.args])
                    for a in op.args:
                        if last[a] == i and a not in keep:
                            vals[a] = None
        return vals

    def _backward(self, vals: list, seed, want: frozenset[str]) -> list:
        """The adjoints of the variables (by tape index; None where no gradient arrives) for
        ``seed`` at the output, from the values ``vals`` (a copy is consumed: each operation's
        value and adjoint are dropped once it has passed its gradient on)."""
        tape = self._tape
        vals = list(vals)
        adj: list = [None] * len(tape)
        adj[-1] = seed
        with np.errstate(all="ignore"):
            for i in range(len(tape) - 1, -1, -1):
                g, op = adj[i], tape[i]
                if g is None or op.code in (_CONST, _VAR):
                    continue
                for a, part in self._partials(op, vals, i, g, want):
                    adj[a] = part if adj[a] is None else adj[a] + part
                adj[i] = vals[i] = None
        return adj

    def _chunked(self, env: Mapping[str, np.ndarray], shape: tuple[int, ...], wrt: tuple[str, ...] = (),
                 seed=None, vals: list | None = None,
                 with_value: bool = True) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """Chunk by chunk over ``shape``: the value (``with_value``) and the pullbacks of ``seed``
        for ``wrt``, from the stored values ``vals`` or by evaluating each chunk afresh."""
        want, ndim = frozenset(wrt), len(shape)
        keep = self._kept_for(want) if wrt else frozenset()
        value = np.empty(shape) if with_value else None
        grads = [np.zeros(shape) for _ in wrt]
        for index in _chunks(shape, self._chunk_points()):
            if vals is None:
                part = self._forward({k: _part(a, index, ndim) for k, a in env.items()}, keep)
            else:
                part = [_part(v, index, ndim) for v in vals]
            if value is not None:
                value[index] = part[-1]
            if wrt:
                adj = self._backward(part, _part(seed, index, ndim), want)
                for out, w in zip(grads, wrt, strict=True):
                    a = adj[self._var_index[w]] if w in self._var_index else None
                    if a is not None:
                        out[index] = a
        return value, grads

    def evaluate(self, values: Mapping[str, object]) -> np.ndarray:
        """The value for ``values`` (name → number or array); arrays broadcast together.

        The result has the broadcast shape of all the values given for the variables (a 0-d
        array for numbers), used or not; overflow and domain errors give inf/nan silently.
        More than :data:`CHUNK_POINTS` points are evaluated in chunks, in bounded memory.
        """
        env, shape = self._env(values)
        if math.prod(shape) <= self._chunk_points():
            return _shaped(self._forward(env)[-1], shape)
        return self._chunked(env, shape)[0]

    def __call__(self, **values: object) -> np.ndarray:
        """``expr(x=1.0, y=2.0)`` is ``expr.evaluate({"x": 1.0, "y": 2.0})``."""
        return self.evaluate(values)

    def _check_wrt(self, wrt: Sequence[str] | None) -> tuple[str, ...]:
        wrt = self.variables if wrt is None else tuple(wrt)
        unknown = [w for w in wrt if w not in self.variables]
        if unknown:
            raise KeyError(f"not variables of this expression: {', '.join(unknown)}")
        return wrt

    def vjp(self, values: Mapping[str, object], wrt: Sequence[str] | None = None):
        """The value and a pullback: ``pullback(seed)`` gives, for each name in ``wrt``, the
        elementwise product of ``seed`` and ∂value/∂name, in the broadcast shape of the values
        and the seed (not summed).

        With ``seed`` = 1 these are the elementwise partial derivatives; with a seed of the
        residuals, summing them over the data axis gives the gradient of a sum over data.
        Names in ``wrt`` that the expression does not use get zeros. More than
        :data:`CHUNK_POINTS` points are handled in chunks: the pullback then evaluates the
        expression again, chunk by chunk, rather than keep every intermediate array.
        """
        wrt = self._check_wrt(wrt)
        env, shape = self._env(values)
        points = self._chunk_points()
        if math.prod(shape) <= points:
            vals = self._forward(env, self._kept_for(frozenset(wrt)))
            value = _shaped(vals[-1], shape)
        else:
            vals, value = None, self._chunked(env, shape)[0]

        def pullback(seed=1.0) -> tuple[np.ndarray, ...]:
            seed = np.asarray(seed, dtype=np.float64)
            full = np.broadcast_shapes(value.shape, seed.shape)
            if vals is not None and math.prod(full) <= points:
                adj = self._backward(vals, seed, frozenset(wrt))
                out = []
                for w in wrt:
                    a = adj[self._var_index[w]] if w in self._var_index else None
                    out.append(np.zeros(full) if a is None else np.array(np.broadcast_to(a, full)))
                return tuple(out)
            return tuple(self._chunked(env, full, wrt, seed, vals, with_value=False)[1])

        return value, pullback

    def _partials(self, op: _Op, vals: list, i: int, g, want: frozenset[str]):
        """(argument index, g·∂op/∂argument) for each argument of ``op`` that depends on ``want``."""
        parts = [(a, k) for k, a in enumerate(op.args) if self._tape[a].deps & want]
        return [(a, self._partial(op, vals, i, g, k)) for a, k in parts]

    def _partial(self, op: _Op, vals: list, i: int, g, k: int):
        """g·∂op/∂(argument k)."""
        code, args, out = op.code, op.args, vals[i]
        if code == _NEG:
            return -g
        if code == _SQUARE:
            return g * 2.0 * vals[args[0]]
        if code == _CALL:
            return g * _FUNCTIONS[op.name][1](vals[args[0]], out)
        a, b = vals[args[0]], vals[args[1]]
        if code == _ADD:
            return g
        if code == _SUB:
            return g if k == 0 else -g
        if code == _MUL:
            return g * (b if k == 0 else a)
        if code == _DIV:
            return g / b if k == 0 else -g * out / b
        # _POW: d/da a**b = b·a**(b−1) (0 where b = 0: a**0 = 1 even at a = 0);
        #       d/db a**b = a**b·log a (0 where a = 0, the limit for b > 0)
        if k == 0:
            return g * np.where(b == 0, 0.0, b * np.power(a, b - 1.0))
        return g * np.where(a == 0, 0.0, out * np.log(a))

    def value_and_grad(self, values: Mapping[str, object], wrt: Sequence[str] | None = None):
        """``(value, partials)``: the value and ∂value/∂name for each name in ``wrt`` (default: all
        variables, in order), each in the broadcast shape of the values given."""
        wrt = self._check_wrt(wrt)
        env, shape = self._env(values)
        if math.prod(shape) <= self._chunk_points():
            value, pullback = self.vjp(values, wrt)
            return value, pullback(1.0)
        value, grads = self._chunked(env, shape, wrt, np.asarray(1.0))  # one pass: value and gradient
        return value, tuple(grads)


__all__ = [
    "CONSTANTS", "FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "Expression", "ExpressionError",
    "names_in", "numbered_parameters", "parse",
]
