"""`python -m artifactkit.cli` is the `artifactkit` command."""

import sys

from . import main

sys.exit(main())
