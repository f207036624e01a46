"""Frozen entry point: the same as the `streamdesk` console script.

With STREAMDESK_STARTUP_PROBE=1 and no arguments it also reports the first paint of the window
(benchmarks/startup.py), so the bundle can be measured without changing the app.
"""

import os
import sys

from streamdesk.cli import main

if __name__ == "__main__":
    if len(sys.argv) == 1 and os.environ.get("STREAMDESK_STARTUP_PROBE", "") not in ("", "0"):
        from streamdesk import startup_probe

        startup_probe.arm()
    sys.exit(main())
