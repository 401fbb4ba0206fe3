"""``python -m descentlab ARGS``: the descentlab command."""

import sys

from descentlab.cli import main

sys.exit(main())
