"""`python -m streamdesk` is the same as the `streamdesk` command."""

import sys

from streamdesk.head_start import run_if_child

run_if_child()  # the window's head start: before anything else loads

from streamdesk.cli import main  # noqa: E402

sys.exit(main())
