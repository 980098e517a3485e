"""`python -m strmsync` runs the command line."""

import sys

from strmsync.cli import main

sys.exit(main())
