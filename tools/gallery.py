"""Render every command shown in the README into out/gallery/, to look at each picture.

    .venv/bin/python tools/gallery.py [--out out/gallery] [--only PATTERN]

Every line of a shell block of README.md that starts with ``descentlab`` (or ``$ descentlab``) is run
in the gallery folder, in order (so ``--dump-config > run.toml`` feeds a later ``--config run.toml``),
with small input files made first (scores.csv, my.csv). Outputs are renamed ``NN-name`` after the
command's number; .svg and .pdf outputs are drawn as .png so that they can be looked at, GIFs get a
PNG of their first, middle and last frame, and HTML pages a screenshot in Debian's Chromium when it is
installed. ``descentlab serve`` is shown by tools/screenshot_explorer.py instead. Each command's
output goes to ``NN-command.txt``; ``index.txt`` lists every command, its exit status and its files.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT_FLAGS = ("-o", "--output", "--plot", "--save")
CHROMIUM = Path("/usr/bin/chromium")


def commands(readme: str) -> list[str]:
    """The ``descentlab`` command lines of the README's shell blocks, continuation lines joined."""
    out, block, pending = [], None, ""
    for line in readme.splitlines():
        if line.startswith("```"):
            block = None if block is not None else line[3:].strip()
            continue
        if block not in ("", "sh", "bash", "console"):
            continue
        text = line.strip()
        if text.startswith("$ "):
            text = text[2:]
        if pending:
            text, pending = pending + " " + text, ""
        if text.endswith("\\"):
            pending = text[:-1].strip()
            continue
        words = text.split()
        if len(words) > 1 and words[0] == "descentlab" and words[1] in _subcommands():
            out.append(_strip_comment(text))
    return out


def _subcommands() -> set[str]:
    """The names of descentlab's commands (so that printed output such as "descentlab figure: error"
    in a README block is not taken for a command)."""
    import typer

    from descentlab.cli import app

    return set(typer.main.get_command(app).commands)


def _strip_comment(text: str) -> str:
    """The command without a trailing ``# comment`` (a # inside quotes stays)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=False)
    lexer.whitespace_split, lexer.commenters = True, "#"
    try:
        words = list(lexer)
    except ValueError:
        return text
    # re-quote, keeping a redirection such as "> run.toml" as shell syntax
    return " ".join(w if w in (">", ">>") else shlex.quote(w) for w in words)


def rename_outputs(command: str, number: int) -> tuple[str, list[str]]:
    """The command with its output files renamed ``NN-name`` (.svg/.pdf drawn as .png)."""
    words = shlex.split(command)
    files = []
    for i, word in enumerate(words[:-1]):
        if word in OUTPUT_FLAGS and not words[i + 1].startswith("-"):
            name = Path(words[i + 1])
            if name.suffix in (".svg", ".pdf"):
                name = name.with_suffix(".png")
            words[i + 1] = f"{number:02d}-{name.name}"
            files.append(words[i + 1])
    text = " ".join(w if w in (">", ">>") else shlex.quote(w) for w in words)
    return text, files


def make_inputs(folder: Path) -> None:
    """Small CSV files the README's commands read."""
    rows = [(1.5, 38), (2.0, 41), (2.5, 45), (3.0, 47), (3.5, 52), (4.0, 50), (4.5, 56), (5.0, 58),
            (5.5, 60), (6.0, 63), (6.5, 66), (7.0, 65), (7.5, 70), (8.0, 72), (8.4, 74)]
    text = "hours,score\n" + "".join(f"{h},{s}\n" for h, s in rows)
    (folder / "scores.csv").write_text(text, encoding="utf-8")
    (folder / "my.csv").write_text(text, encoding="utf-8")


def frames_to_png(path: Path) -> list[str]:
    """PNGs of a GIF's first, middle and last frame."""
    from PIL import Image

    out = []
    with Image.open(path) as im:
        n = getattr(im, "n_frames", 1)
        for label, k in (("first", 0), ("middle", n // 2), ("last", n - 1)):
            im.seek(k)
            target = path.with_name(f"{path.stem}-{label}.png")
            im.convert("RGB").save(target)
            out.append(target.name)
    return out


def screenshot_html(path: Path) -> list[str]:
    """A screenshot of an exported page, offline, in Debian's Chromium (when installed)."""
    if not CHROMIUM.exists():
        return []
    from playwright.sync_api import sync_playwright

    target = path.with_name(f"{path.stem}-page.png")  # never over a PNG of the same name
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:")
                   else route.continue_())
        page.goto(path.resolve().as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(target))
        browser.close()
    return [target.name]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "out" / "gallery"))
    parser.add_argument("--only", default=None, help="run only the commands containing this text")
    args = parser.parse_args()
    folder = Path(args.out)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    make_inputs(folder)
    # the README's commands run from the repository's root: examples/ (model factories, data) beside them
    shutil.copytree(ROOT / "examples", folder / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    exe = Path(sys.executable).with_name("descentlab")
    env = {**os.environ, "MPLBACKEND": "Agg", "PATH": f"{exe.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    index = []
    for number, command in enumerate(commands((ROOT / "README.md").read_text(encoding="utf-8")), start=1):
        if args.only and args.only not in command:
            continue
        if re.match(r"descentlab serve\b", command):
            index.append(f"{number:02d}  (not run: a server; see tools/screenshot_explorer.py)  {command}")
            continue
        text, files = rename_outputs(command, number)
        result = subprocess.run(["bash", "-c", text], cwd=folder, env=env, capture_output=True, text=True,
                                timeout=900)
        log = folder / f"{number:02d}-command.txt"
        log.write_text(f"$ {text}\n(exit {result.returncode})\n{result.stdout}{result.stderr}",
                       encoding="utf-8")
        made = [f for f in files if (folder / f).exists()]
        for f in list(made):
            if f.endswith(".gif"):
                made += frames_to_png(folder / f)
            elif f.endswith((".html", ".htm")):
                made += screenshot_html(folder / f)
        index.append(f"{number:02d}  exit {result.returncode}  {command}\n      -> {', '.join(made) or '-'}")
        print(index[-1], flush=True)
    (folder / "index.txt").write_text("\n".join(index) + "\n", encoding="utf-8")
    print(f"gallery in {folder}: {len(index)} commands; look at every PNG")
    return 0


if __name__ == "__main__":
    sys.exit(main())
