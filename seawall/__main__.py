"""``python -m seawall``: the same as the ``seawall`` console script."""

import sys

from seawall.cli import main

sys.exit(main())
