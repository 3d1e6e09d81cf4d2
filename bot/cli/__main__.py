"""``python -m bot.cli``: the `newsdesk` command."""

import sys

from . import main

sys.exit(main())
