"""Python's cyclic garbage collection runs on the GUI thread while the collector runs: a Qt
object left in a reference cycle is never freed by a worker thread that happens to allocate."""

from __future__ import annotations

import gc
import threading

import pytest
from PySide6.QtCore import QObject, Qt
from pytestqt.qtbot import QtBot

from streamdesk.ui.qtloop import GuiThreadCollector


class Cyclic(QObject):
    """A Qt object that keeps itself alive through a cycle (as a widget holding a callback
    that holds it does): only the cyclic collector frees it."""

    def __init__(self) -> None:
        super().__init__()
        self.me = self


def freed_on(qtbot: QtBot, collector: GuiThreadCollector | None) -> str:
    """Make a `Cyclic`, drop it, make and keep objects in a worker thread until a collection
    is due many times over, then let Qt's loop run; the name of the thread that freed it."""
    where: list[str] = []
    gc.collect()
    obj = Cyclic()
    obj.destroyed.connect(
        lambda: where.append(threading.current_thread().name), Qt.ConnectionType.DirectConnection
    )
    del obj
    if collector is not None:
        collector.start()
    kept: list[list[object]] = []  # what the worker made stays: a collection is due
    try:
        worker = threading.Thread(
            target=lambda: kept.extend([] for _ in range(100_000)), name="worker"
        )
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: bool(where), timeout=5_000)
    finally:
        if collector is not None:
            collector.stop()
    return where[0]


def test_without_it_a_worker_thread_frees_the_qt_object(qtbot: QtBot) -> None:
    gc.enable()  # as the interpreter collects by itself (the UI tests' fixture turned it off)
    assert freed_on(qtbot, None) == "worker"  # what the collector is there to prevent


def test_with_it_the_gui_thread_frees_the_qt_object(qtbot: QtBot) -> None:
    collector = GuiThreadCollector()
    assert freed_on(qtbot, collector) == threading.main_thread().name
    assert gc.isenabled(), "stop() gives collection back to the interpreter"


def test_a_full_collection_waits_until_nothing_streams_and_comes_at_most_so_often(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection walks every object of a long session: never while a reply
    streams (`may_pause`), and not more often than FULL_EVERY_S."""
    collections: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: collections.append(generation) or 0)
    monkeypatch.setattr(gc, "get_count", lambda: (0, 0, 11))  # the oldest generation is due
    collector = GuiThreadCollector()
    collector.may_pause = lambda: False
    assert collector.collect() == 0 and not collections  # a reply streams
    collector.may_pause = lambda: True
    collector.collect()
    assert collections == []  # not yet FULL_EVERY_S since the collector began
    monkeypatch.setattr(GuiThreadCollector, "FULL_EVERY_S", 0.0)
    collector.collect()
    assert collections == [2]
