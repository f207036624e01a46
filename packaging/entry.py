"""Frozen entry point: the same as the `streamdesk` console script.

STREAMDESK_STARTUP_PROBE=1 works here as in the venv (benchmarks/startup.py): the window itself
reports its first paint (streamdesk/startup_probe.py), so the bundle is measured unchanged.
"""

import sys

from streamdesk.head_start import run_if_child

run_if_child()  # the window's head start: before anything else loads

from streamdesk.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
