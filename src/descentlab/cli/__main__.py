"""``python -m descentlab.cli ARGS``: the descentlab command (as ``python -m descentlab``)."""

import sys

from descentlab.cli import main

sys.exit(main())
