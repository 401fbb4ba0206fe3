"""``compare --save DIR``: every run of a comparison and its configuration written into one directory,
never over a file of the user's (the directory is new, empty, or an earlier ``compare --save``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from descentlab.config import HEADER, Config
from descentlab.errors import InputError, escaped
from descentlab.files import write_text_atomic
from descentlab.paths import never_overwrite

CONFIG = "config.toml"
"""The configuration ``compare --save DIR`` writes beside the runs (and recognises an earlier save by)."""


def slug(name: str) -> str:
    """A file name for an optimizer table's name: ``nesterov β=0.9`` → ``nesterov-0.9``."""
    return re.sub(r"[^A-Za-z0-9._]+", "-", name).strip("-.") or "run"


def targets(directory: Path, names: list[str], inputs: list[tuple[str, Path]]) -> dict[str, Path]:
    """Optimizer name → DIR/<name>.json, after checking that writing there overwrites nothing of the
    user's: DIR is new, empty, or an earlier ``compare --save`` (its config.toml and runs only)."""
    paths: dict[str, Path] = {}
    for name in names:
        stem, n = slug(name), 2
        while directory / f"{stem}.json" in paths.values():
            stem, n = f"{slug(name)}-{n}", n + 1
        paths[name] = directory / f"{stem}.json"
    shown = escaped(str(directory))
    if directory.exists() and not directory.is_dir():
        raise InputError(f"--save {shown}: exists and is not a directory")
    if directory.is_dir():
        foreign = [entry.name for entry in sorted(directory.iterdir()) if not written_by_compare(entry)]
        if foreign:
            raise InputError(f"--save {shown}: the directory holds files that compare --save did not write "
                             f"({escaped(', '.join(foreign[:3]))}{' …' if len(foreign) > 3 else ''}); give a "
                             "new or empty directory")
    never_overwrite(inputs, "--save", directory / CONFIG, *paths.values())
    return paths


def written_by_compare(entry: Path) -> bool:
    """Whether ``entry`` is a file an earlier ``compare --save`` wrote: its config or a run."""
    try:
        if entry.name == CONFIG:
            return entry.is_file() and entry.read_text(encoding="utf-8").startswith(HEADER.split(":")[0])
        return entry.suffix == ".json" and entry.is_file() and str(json.loads(
            entry.read_text(encoding="utf-8")).get("format", "")).startswith("descentlab-trajectory/")
    except (ValueError, OSError, AttributeError):
        return False


def write(directory: Path, paths: dict[str, Path], trajs, cfg: Config) -> str:
    """Write every run and the configuration into ``directory`` (each file atomically); the runs of an
    earlier save that this one does not rewrite are removed, so the directory holds this comparison.
    Returns what was done, in one line."""
    earlier = sorted(p for p in directory.glob("*.json")) if directory.is_dir() else []
    directory.mkdir(parents=True, exist_ok=True)
    for traj, path in zip(trajs, paths.values(), strict=True):
        traj.to_json(path)
    write_text_atomic(directory / CONFIG, cfg.to_toml("compare"))
    stale = [p for p in earlier if p not in paths.values()]
    for p in stale:
        p.unlink(missing_ok=True)
    replaced = sum(p in paths.values() for p in earlier)
    note = f" (replaced {replaced + len(stale)} runs of an earlier save)" if earlier else ""
    return f"saved {len(paths)} runs and {CONFIG} in {directory}{note}"


__all__ = ["CONFIG", "slug", "targets", "write", "written_by_compare"]
