"""`python -m cltrace ...`: the same as the `cltrace` command."""
import sys

from .cli.main import main

sys.exit(main())
