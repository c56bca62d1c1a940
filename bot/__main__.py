"""``python -m bot`` is the ``portbot`` command."""

import sys

from bot.cli import main

sys.exit(main())
