"""`python -m streamdesk` is the same as the `streamdesk` command."""

import sys

from streamdesk.cli import main

sys.exit(main())
