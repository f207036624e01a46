"""Frozen entry point: the same as the `streamdesk` console script.

STREAMDESK_STARTUP_PROBE=1 works here as in the venv (benchmarks/startup.py): the window itself
reports its first paint (streamdesk/startup_probe.py), so the bundle is measured unchanged.
"""

import sys

from streamdesk.cli import main

if __name__ == "__main__":
    sys.exit(main())
