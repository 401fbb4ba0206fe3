"""Your network, imported from a ``module:function`` spec, as uvicorn and gunicorn import apps.

``descentlab landscape --model mypkg.models:make_mlp`` imports ``mypkg.models`` and calls
``make_mlp()`` with no arguments; it must return ``(model, loss_fn)``: a ``torch.nn.Module`` with
parameters and a callable ``loss_fn(prediction, target)`` returning a scalar tensor (mean or sum,
as you define it). **This runs your code**, with your permissions, exactly as ``python -c
"import mypkg.models"`` would.

* The current directory is put first on ``sys.path`` before importing (as uvicorn does with its
  ``--app-dir`` default ``.``), so ``--model examples.networks:digits_mlp`` works from the
  repository root without installing anything. A module given as a file path ending in ``.py``
  (``examples/networks.py:wave_mlp``) is loaded from that file.
* The function part may be dotted (``module:Factory.build``).
* Every failure is one :class:`~descentlab.errors.InputError` line naming the spec: a module not
  found, an exception while importing it, a missing or non-callable attribute, a factory that
  needs arguments, an exception inside the factory (``--model mod:fn raised ValueError: …``,
  without its traceback), or a return value of the wrong kind.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch

from descentlab.errors import InputError, one_line

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
EXAMPLE = "examples.networks:digits_mlp"


def _shown(spec: str) -> str:
    return f"--model {one_line(repr(spec), 160)}"


def _failure(err: BaseException) -> str:
    """``ValueError: message`` on one line (escaped, shortened)."""
    text = str(err).strip()
    return one_line(type(err).__name__ + (f": {text}" if text else ""), 240)


def _kind(value: object) -> str:
    """``an int``, ``a ndarray``: the value's type with its article."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def parse(spec: str) -> tuple[str, str]:
    """(module, attribute) of ``module:attribute``; an InputError naming the spec otherwise."""
    if not isinstance(spec, str):
        raise InputError(f"--model must be a string module:function, got {type(spec).__name__}")
    module, sep, attr = spec.strip().rpartition(":")
    if not sep or not module or not attr:
        raise InputError(f"{_shown(spec)}: give it as module:function, e.g. {EXAMPLE} (a function that "
                         "takes no arguments and returns (model, loss_fn))")
    if not _DOTTED.fullmatch(attr):
        raise InputError(f"{_shown(spec)}: {one_line(repr(attr), 80)} is not a Python name (the part "
                         "after ':' names the factory function)")
    if not module.endswith(".py") and not _DOTTED.fullmatch(module):
        raise InputError(f"{_shown(spec)}: {one_line(repr(module), 80)} is not a module name such as "
                         "mypkg.models (or a path ending in .py)")
    return module, attr


def _on_path() -> None:
    """The current directory first on ``sys.path`` (uvicorn's ``--app-dir .``)."""
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)


def _import(spec: str, module: str) -> ModuleType:
    if module.endswith(".py"):
        return _import_file(spec, Path(module))
    _on_path()
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        missing = err.name or ""
        if missing and (module == missing or module.startswith(missing + ".")):
            raise InputError(f"{_shown(spec)}: no module named {one_line(repr(missing), 80)} (looked in "
                             f"the current directory {one_line(os.getcwd(), 120)} and on the import path)"
                             ) from None
        raise InputError(f"{_shown(spec)}: importing {module} raised {_failure(err)}") from None
    except Exception as err:  # the user's module failed while it was imported
        raise InputError(f"{_shown(spec)}: importing {module} raised {_failure(err)}") from None
    except SystemExit as err:
        raise InputError(f"{_shown(spec)}: importing {module} called exit({one_line(err.code, 40)})"
                         ) from None


def _import_file(spec: str, path: Path) -> ModuleType:
    if not path.is_file():
        raise InputError(f"{_shown(spec)}: no such file {one_line(str(path), 160)}")
    name = "descentlab_user_" + re.sub(r"\W", "_", path.stem)
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise InputError(f"{_shown(spec)}: cannot load {one_line(str(path), 160)} as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    _on_path()
    sys.modules[name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as err:
        sys.modules.pop(name, None)
        raise InputError(f"{_shown(spec)}: importing {one_line(str(path), 120)} raised {_failure(err)}"
                         ) from None
    except SystemExit as err:
        sys.modules.pop(name, None)
        raise InputError(f"{_shown(spec)}: importing {one_line(str(path), 120)} called "
                         f"exit({one_line(err.code, 40)})") from None
    return module


def _attribute(spec: str, module: ModuleType, attr: str) -> Callable:
    target: object = module
    for part in attr.split("."):
        if not hasattr(target, part):
            found = sorted(n for n, v in vars(module).items()
                           if inspect.isfunction(v) and not n.startswith("_")
                           and v.__module__ == module.__name__)[:8]
            hint = f"; its functions: {', '.join(found)}" if found else ""
            raise InputError(f"{_shown(spec)}: module {module.__name__} has no attribute "
                             f"{one_line(repr(attr), 80)}{one_line(hint, 200)}")
        target = getattr(target, part)
    if not callable(target):
        raise InputError(f"{_shown(spec)}: {one_line(attr, 80)} is {_kind(target)}, not a function "
                         "returning (model, loss_fn)")
    return target


def _takes_no_arguments(spec: str, factory: Callable) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return  # a builtin without a signature: let the call say
    named = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
             inspect.Parameter.KEYWORD_ONLY)
    needed = [p.name for p in signature.parameters.values() if p.default is p.empty and p.kind in named]
    if needed:
        raise InputError(f"{_shown(spec)}: the factory must take no arguments, but it needs "
                         f"{one_line(', '.join(needed), 120)} (give them defaults, or wrap it in a function)")


def load_factory(spec: str) -> tuple[torch.nn.Module, Callable]:
    """Import ``module:function``, call it with no arguments, check and return ``(model, loss_fn)``.

    See the module docstring for the rules; every failure is an :class:`InputError` naming ``spec``.
    """
    module_name, attr = parse(spec)
    module = _import(spec, module_name)
    factory = _attribute(spec, module, attr)
    _takes_no_arguments(spec, factory)
    try:
        made = factory()
    except Exception as err:
        raise InputError(f"{_shown(spec)} raised {_failure(err)}") from None
    except SystemExit as err:
        raise InputError(f"{_shown(spec)} called exit({one_line(err.code, 40)})") from None
    return check_made(spec, made)


def check_made(spec: str, made: object) -> tuple[torch.nn.Module, Callable]:
    """``made`` as ``(model, loss_fn)``, or an InputError saying what the factory returned instead."""
    if not isinstance(made, tuple | list) or len(made) != 2:
        items = f" of {len(made)} items" if isinstance(made, tuple | list) else ""
        raise InputError(f"{_shown(spec)} returned {_kind(made)}{items}; it must return (model, loss_fn): "
                         "a torch.nn.Module and a loss on (prediction, target)")
    model, loss_fn = made
    if not isinstance(model, torch.nn.Module):
        raise InputError(f"{_shown(spec)} returned {_kind(model)} as the model; it must be a "
                         "torch.nn.Module")
    if not callable(loss_fn):
        raise InputError(f"{_shown(spec)} returned {_kind(loss_fn)} as the loss; it must be "
                         "callable as loss_fn(prediction, target)")
    tensors = [p for p in model.parameters() if p.requires_grad]
    if not tensors:
        raise InputError(f"{_shown(spec)}: the model has no trainable parameters")
    if not all(p.is_floating_point() for p in tensors):
        raise InputError(f"{_shown(spec)}: the model's parameters must be floating point")
    return model, loss_fn


__all__ = ["check_made", "load_factory", "parse"]
