"""Qt widgets: the only package that imports PySide6.

Importing it makes PySide6's check of each later import cheaper (`install_file_check`)."""

from __future__ import annotations

import sys
from types import ModuleType

import PySide6.QtCore  # noqa: F401  (loads shibokensupport.feature, whose check is replaced)

PYSIDE_CHECK = "_mod_uses_pyside"  # shibokensupport.feature's, private: replaced only if there


def install_file_check() -> None:
    """PySide6 asks of every module imported after it whether its source names "PySide6"
    (`shibokensupport.feature._mod_uses_pyside`, for `from __feature__ import ...`), through
    `inspect.getsource`, which also maps every loaded module to its file: a large part of a start.
    Same question, same answer, from the module's file read as bytes; anything without a
    plain .py file (built-ins, extensions, the bundle's archive) still goes to PySide's own
    check. Left alone when PySide no longer has that function."""
    feature = sys.modules.get("shibokensupport.feature")
    uses_pyside = getattr(feature, PYSIDE_CHECK, None)
    if feature is None or uses_pyside is None or getattr(uses_pyside, "reads_file", False):
        return

    def mod_uses_pyside(module: ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.endswith(".py"):
            try:
                with open(path, "rb") as source:
                    return b"PySide6" in source.read()
            except OSError:
                pass
        return bool(uses_pyside(module))

    mod_uses_pyside.reads_file = True  # type: ignore[attr-defined]
    setattr(feature, PYSIDE_CHECK, mod_uses_pyside)


install_file_check()
