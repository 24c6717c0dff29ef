"""`python -m artifactkit` is the `artifactkit` command (as `python -m wandb` is `wandb`)."""

import sys

from .cli import main

sys.exit(main())
