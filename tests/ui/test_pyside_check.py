"""streamdesk.ui replaces PySide6's "does this module use PySide6?" check with one that reads
the module's file: the same answers as PySide's own, without inspect.getsource."""

from __future__ import annotations

import _json
import inspect
import json
import sys
from types import ModuleType

import streamdesk.core.chat
import streamdesk.ui
import streamdesk.ui.app


def _pyside_check() -> object:
    return getattr(sys.modules["shibokensupport.feature"], streamdesk.ui.PYSIDE_CHECK)


def _by_source(module: ModuleType) -> bool:
    """PySide's own rule: the module's source names PySide6; no source, no."""
    try:
        return "PySide6" in inspect.getsource(module)
    except (OSError, TypeError):
        return False


def test_the_check_reads_files_and_answers_as_pyside_does() -> None:
    check = _pyside_check()
    assert getattr(check, "reads_file", False)
    assert callable(check)
    modules = [streamdesk.ui.app, streamdesk.core.chat, json, _json, sys, inspect]
    answers = {m.__name__: check(m) for m in modules}
    assert answers == {m.__name__: _by_source(m) for m in modules}
    assert answers["streamdesk.ui.app"] is True
    assert answers["streamdesk.core.chat"] is False


def test_installing_it_again_keeps_one_wrapper() -> None:
    check = _pyside_check()
    streamdesk.ui.install_file_check()
    assert _pyside_check() is check
