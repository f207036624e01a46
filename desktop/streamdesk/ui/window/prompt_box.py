"""The prompt box: Enter sends, Shift+Enter breaks the line, Esc stops, Up recalls.

It never blocks on a reply: the user can type the next prompt while one streams. The box grows
with its content up to `max_lines`, then scrolls. While it holds a sent prompt being edited, Esc
cancels the edit instead, and the draft the edit pushed aside comes back when the edit ends.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore
from PySide6.QtCore import QMimeData, QSize, Signal
from PySide6.QtGui import QFont, QFontMetrics, QImage, QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit, QSizePolicy, QWidget


class PromptBox(QPlainTextEdit):
    """Emits `submitted(text)` on Enter and `stopRequested()` on Esc (`editCancelled()` while
    editing)."""

    submitted = Signal(str)
    stopRequested = Signal()
    blocked = Signal()  # Enter while sending is not possible; the text is kept
    editCancelled = Signal()  # Esc while editing a sent prompt
    editingChanged = Signal(bool)
    filesDropped = Signal(list)  # local file paths dropped or pasted: attachments, not text
    imagePasted = Signal(QImage)

    def __init__(self, parent: QWidget | None = None, *, min_lines: int = 2, max_lines: int = 10):
        super().__init__(parent)
        self._min_lines = min_lines
        self._max_lines = max_lines
        self._sent: list[str] = []  # prompts sent from this box, oldest first
        self._recall = -1  # index into _sent while browsing with Up/Down; -1 when not
        self.can_submit: Callable[[], bool] = lambda: True
        self._draft: str | None = None  # what was typed before an edit replaced it
        self._editing = False
        self.setTabChangesFocus(True)
        self.setPlaceholderText("Ask anything…  (Enter to send, Shift+Enter for a new line)")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    # -- public ---------------------------------------------------------------------------

    def remember(self, text: str) -> None:
        """Record a sent prompt so Up can bring it back."""
        if text and (not self._sent or self._sent[-1] != text):
            self._sent.append(text)
        self._recall = -1

    def submit(self) -> None:
        """Send what is typed, unless `can_submit()` says no (the reply is still streaming):
        then the text stays in the box and `blocked` is emitted."""
        if not self.toPlainText().strip():
            return
        if not self.can_submit():
            self.blocked.emit()
            return
        text = self.take_text()
        self.submitted.emit(text)

    def hold_draft(self) -> None:
        """Keep what is typed now: an edit is about to replace it (kept once per edit)."""
        if not self._editing:
            self._draft = self.toPlainText()

    def begin_edit(self) -> None:
        """The box now holds a sent prompt being edited (its text is set by the caller)."""
        if not self._editing:
            self._editing = True
            self.editingChanged.emit(True)

    def end_edit(self) -> None:
        """Leave editing (cancelled or resent): the draft held before it comes back."""
        draft, self._draft = self._draft, None
        if not self._editing:
            return
        self._editing = False
        self.setPlainText(draft or "")
        self.moveCursor(self.textCursor().MoveOperation.End)
        self.editingChanged.emit(False)

    @property
    def editing(self) -> bool:
        return self._editing

    def set_point_size(self, points: int) -> None:
        """The transcript's body size: what is typed reads like what is read."""
        font = QFont(self.font())
        font.setPointSize(points)
        self.setFont(font)
        # The placeholder is drawn in the viewport's font, which a style sheet polished
        # before this call keeps until the next repolish (a theme switch): set it here too.
        self.viewport().setFont(font)
        self._fit()

    def take_text(self) -> str:
        """The prompt to send (stripped), clearing the box and remembering it."""
        text = self.toPlainText().strip()
        if text:
            self.remember(text)
            self.clear()
        return text

    # -- drops and pastes -----------------------------------------------------------------

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        if source.hasImage() or _local_files(source):
            return True
        return super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        """Files dropped or pasted go with the prompt (their paths are not typed in), and so
        does a pasted image; anything else is text as usual."""
        paths = _local_files(source)
        if paths:
            self.filesDropped.emit(paths)
            return
        image = source.imageData() if source.hasImage() else None
        if isinstance(image, QImage) and not image.isNull():
            self.imagePasted.emit(image)
            return
        super().insertFromMimeData(source)

    # -- keys -----------------------------------------------------------------------------

    def keyPressEvent(self, e: QKeyEvent) -> None:
        key, mods = e.key(), e.modifiers()
        if key in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            if mods & QtCore.Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            elif not mods & (
                QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.AltModifier
            ):
                self.submit()
            e.accept()
            return
        if key == QtCore.Qt.Key.Key_Escape:
            (self.editCancelled if self._editing else self.stopRequested).emit()
            e.accept()
            return
        recalling = not self.toPlainText() or self._recall >= 0
        if key == QtCore.Qt.Key.Key_Up and self._sent and recalling and self._on_first_line():
            self._recall = len(self._sent) - 1 if self._recall < 0 else max(0, self._recall - 1)
            self._show_recalled()
            e.accept()
            return
        if key == QtCore.Qt.Key.Key_Down and self._recall >= 0:
            self._recall += 1
            if self._recall >= len(self._sent):
                self._recall = -1
                self.clear()
            else:
                self._show_recalled()
            e.accept()
            return
        if e.text():
            self._recall = -1  # typing turns a recalled prompt into a new one
        super().keyPressEvent(e)

    def _on_first_line(self) -> bool:
        return self.textCursor().blockNumber() == 0

    def _show_recalled(self) -> None:
        recall = self._recall
        self.setPlainText(self._sent[recall])
        self._recall = recall  # setPlainText does not reset it, but be explicit
        self.moveCursor(self.textCursor().MoveOperation.End)

    # -- size -----------------------------------------------------------------------------

    def _height_for(self, lines: int) -> int:
        fm = QFontMetrics(self.font())
        margins = self.contentsMargins()
        frame = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom()
        return lines * fm.lineSpacing() + frame + 4

    def _fit(self, *_: object) -> None:
        lines = max(1, int(self.document().size().height()))
        lines = min(max(lines, self._min_lines), self._max_lines)
        self.setFixedHeight(self._height_for(lines))

    def sizeHint(self) -> QSize:
        return QSize(400, self._height_for(self._min_lines))


def _local_files(source: QMimeData) -> list[str]:
    """The local files a drop or paste carries (a web address is text, not a file)."""
    if not source.hasUrls():
        return []
    return [url.toLocalFile() for url in source.urls() if url.isLocalFile()]
