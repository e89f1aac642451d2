"""`python -m factordiff …` is the same as the `factordiff` command."""

import sys

from .cli import main

sys.exit(main())
