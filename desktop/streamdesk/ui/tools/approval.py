"""Approval of a tool call inside the reply: a bar laid over the room the call's block leaves
under its arguments, with Allow once · Allow for this chat · Deny.

The answer resolves a future the engine's `ApproveTool` callback awaits: no modal dialog and
no nested event loop (qasync breaks with those). Stop cancels the reply's task, which cancels
the wait; the bar goes with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QTextBrowser, QWidget

from streamdesk.core.chat import Approval, ToolRequest
from streamdesk.ui.plain_text import make_plain, plain_tooltip

BAR_HEIGHT = 40  # px the call's block leaves for the bar
# Draws the call awaiting approval with `height` px of room under its arguments; returns the
# cursor there (None when the reply is no longer drawn).
ReserveRoom = Callable[[int], QTextCursor | None]


class ApprovalBar(QFrame):
    """The three answers to "run this call?"; `answered(Approval)` once one is chosen.

    The buttons take keyboard focus with Tab and have mnemonics (Alt+O, Alt+C, Alt+N); the
    bar never takes focus by itself, so typing in the prompt box cannot answer it."""

    answered = Signal(object)

    def __init__(self, request: ToolRequest, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("toolApproval")
        self.setFixedHeight(BAR_HEIGHT)
        self.question = make_plain(QLabel(self))  # a model-made name: never HTML
        server = f" on {request.server}" if request.server else ""
        self.question.setText(f"Run {request.tool}{server}?")
        self.question.setToolTip("The call's arguments are shown above")
        self.once = self._button("Allow &once", "Run this call")
        self.chat = self._button(
            "Allow for this &chat",
            plain_tooltip(f"Run this call and every later call of {request.tool} here"),
        )
        self.deny = self._button("De&ny", "Do not run it; the model is told it was denied")
        self.once.clicked.connect(lambda: self._answer(Approval.ONCE))
        self.chat.clicked.connect(lambda: self._answer(Approval.CHAT))
        self.deny.clicked.connect(lambda: self._answer(Approval.DENY))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        row.addWidget(self.question, 1)
        for button in (self.once, self.chat, self.deny):
            row.addWidget(button)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        button.setAutoDefault(False)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return button

    def _answer(self, answer: Approval) -> None:
        for button in (self.once, self.chat, self.deny):
            button.setEnabled(False)
        self.answered.emit(answer)


class AnchoredBar(QObject):
    """Keeps a bar over a document position of a transcript: it follows scrolling, layout
    changes and resizes (the cursor moves with the edits around it)."""

    def __init__(self, browser: QTextBrowser, bar: QWidget, at: QTextCursor) -> None:
        super().__init__(bar)
        self.browser = browser
        self.bar = bar
        self.at = at
        browser.verticalScrollBar().valueChanged.connect(self.place)
        browser.document().documentLayout().documentSizeChanged.connect(self.place)
        browser.viewport().installEventFilter(self)
        self.place()
        bar.show()

    def place(self, *_: object) -> None:
        """Over the reserved block: from its top (past its margin), as wide as the column."""
        browser = self.browser
        block = self.at.block()
        if not block.isValid():
            return
        box = browser.document().documentLayout().blockBoundingRect(block)
        top = box.top() + block.blockFormat().topMargin() - browser.verticalScrollBar().value()
        left = browser.cursorRect(self.at).left()
        width = max(200, browser.viewport().width() - 2 * left)
        self.bar.setGeometry(left, round(top), width, self.bar.height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.place()
        return False

    def release(self) -> None:
        with contextlib.suppress(RuntimeError):  # the transcript is already gone
            self.browser.viewport().removeEventFilter(self)
            self.browser.verticalScrollBar().valueChanged.disconnect(self.place)
            self.browser.document().documentLayout().documentSizeChanged.disconnect(self.place)


async def ask_in_place(
    browser: QTextBrowser,
    request: ToolRequest,
    reserve: ReserveRoom,
    shown: Callable[[ApprovalBar], object] | None = None,
) -> Approval:
    """Show the bar over the room `reserve(height)` leaves (then `shown(bar)`), and wait for
    an answer."""
    bar = ApprovalBar(request, browser.viewport())
    at = reserve(BAR_HEIGHT)
    if at is None:  # the reply is not on screen (cleared): nobody can answer here
        bar.deleteLater()
        return Approval.STOP
    anchor = AnchoredBar(browser, bar, at)
    answer: asyncio.Future[Approval] = asyncio.get_running_loop().create_future()

    def settle(chosen: Approval) -> None:
        if not answer.done():
            answer.set_result(chosen)

    bar.answered.connect(settle)
    if shown is not None:
        shown(bar)
    try:
        return await answer
    finally:
        anchor.release()
        with contextlib.suppress(RuntimeError):
            bar.hide()
            bar.deleteLater()
