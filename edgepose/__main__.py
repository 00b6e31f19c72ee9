"""`python -m edgepose` runs the command line."""

import sys

from edgepose.cli import main

sys.exit(main())
