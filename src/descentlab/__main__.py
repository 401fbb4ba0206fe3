"""``python -m descentlab ARGS``: the descentlab command."""

from descentlab.cli import script

script()
