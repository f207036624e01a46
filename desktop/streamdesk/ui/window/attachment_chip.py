"""One file waiting in the attachment tray: its thumbnail (an image), its name and a × button.

A file's name is anyone's words: it is shown as plain text, shortened in the middle to the
room the row gives it (its extension kept: "very-long-na…me.jpg"), whole in the tooltip. A
file that cannot be sent stays as a chip marked with ⚠ and a red outline, the reason in its
tooltip, until it is removed.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from streamdesk.ui.plain_text import make_plain, plain_label, plain_tooltip

NAME_WIDTH = 180  # px: a longer name is shortened even when the row has room
NAME_WIDTH_KEPT = 72  # px: a name is shortened to no less, unless "…" and its end are wider
KEPT_BEFORE_EXTENSION = 2  # characters of the name kept before its extension when shortened
REFUSED_STYLE = "QFrame#attachmentChip { border: 1px solid #d93025; border-radius: 4px; }"


class AttachmentChip(QFrame):
    """A file's chip; `removeRequested` when its × is pressed. `tip` is what its tooltip says
    of the file (name and kind); `mark_refused(reason)` adds why it cannot be sent."""

    removeRequested = Signal()

    def __init__(self, name: str, tip: str, picture: QImage | None, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentChip")
        self._tip = tip
        line = QHBoxLayout(self)
        line.setContentsMargins(4, 2, 2, 2)
        line.setSpacing(4)
        self.picture: QLabel | None = None
        if picture is not None:  # a tile until the thumbnail is made
            self.picture = QLabel(self)
            self.picture.setPixmap(QPixmap.fromImage(picture))
            line.addWidget(self.picture)
        self.warning = plain_label("⚠", self)
        self.warning.setObjectName("attachmentWarning")
        self.warning.setStyleSheet("color: #d93025;")
        self.warning.hide()
        line.addWidget(self.warning)
        self.name = ChipName(name, self)
        line.addWidget(self.name)
        remove = QToolButton(self)
        remove.setObjectName("attachmentRemove")
        remove.setText("×")
        remove.setToolTip(plain_tooltip(f"Remove {name}"))
        remove.setAccessibleName(f"Remove {name}")
        remove.setCursor(Qt.CursorShape.PointingHandCursor)
        remove.clicked.connect(self.removeRequested)
        line.addWidget(remove)
        self.refusal = ""
        self.setToolTip(plain_tooltip(tip))

    def show_thumbnail(self, thumb: QImage | None) -> None:
        """The thumbnail in place of the tile; no picture when the image cannot be decoded."""
        if self.picture is None:
            return
        if thumb is None:
            self.picture.hide()
        else:
            self.picture.setPixmap(QPixmap.fromImage(thumb))

    def mark_refused(self, reason: str) -> None:
        """Mark the file as one that cannot be sent, `reason` in its tooltip."""
        self.refusal = reason
        self.warning.show()
        self.setStyleSheet(REFUSED_STYLE)
        self.setToolTip(plain_tooltip(f"{self._tip}\n⚠ {reason}"))


class ChipName(QLabel):
    """A file's name as plain text, shortened to the width it is given; `full` is all of it."""

    def __init__(self, name: str, parent: QWidget) -> None:
        super().__init__(parent)
        make_plain(self)
        self.setObjectName("attachmentName")
        self.full = name
        self.setText(name)
        self.setAccessibleName(name)  # whole, however it is shortened on screen

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        whole = self.fontMetrics().horizontalAdvance(self.full)
        return QSize(min(whole, NAME_WIDTH) + self._margins(), hint.height())

    def minimumSizeHint(self) -> QSize:
        """A short name whole; a long one down to "…" and its end, no narrower than a short
        name (so the long names give up their room first)."""
        shortest = elide_name(self.full, self.fontMetrics(), 0)
        width = max(self.fontMetrics().horizontalAdvance(shortest), NAME_WIDTH_KEPT)
        return QSize(
            min(width + self._margins(), self.sizeHint().width()),
            super().minimumSizeHint().height(),
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.setText(elide_name(self.full, self.fontMetrics(), self.contentsRect().width()))

    def _margins(self) -> int:
        margins = self.contentsMargins()
        return margins.left() + margins.right() + 2 * self.margin()


def elide_name(name: str, metrics: QFontMetrics, width: int) -> str:
    """`name` if it fits `width` px, else shortened in the middle with "…", keeping its
    extension and the characters just before it ("very-long-na…me.jpg"); at the least "…"
    and that end."""
    if metrics.horizontalAdvance(name) <= width:
        return name
    stem, dot, extension = name.rpartition(".")
    kept = KEPT_BEFORE_EXTENSION + len(dot + extension) if stem and dot else 0
    if kept == 0 or kept >= len(name) - 1:  # no extension to keep, or nothing before it
        return metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, width) or "…"
    head, tail = name[:-kept], name[-kept:]
    room = width - metrics.horizontalAdvance(tail)
    shortened = metrics.elidedText(head, Qt.TextElideMode.ElideRight, max(room, 0))
    return (shortened if shortened.endswith("…") else "…") + tail
