"""The files waiting to go with the next prompt: a row of removable chips above the prompt box.

Files come from the attach button's picker, a drop or a paste onto the prompt box. Each is
checked at once by the core's rules (size before reading, type from its bytes), so a file that
cannot be sent is refused with its reason before the user writes a word more; an image chip
shows a thumbnail, a text file its name. `outgoing()` gives what a prompt sends with them.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from streamdesk.core.attachments import (
    Attachment,
    AttachmentRefused,
    ImageFitter,
    TextFile,
    load_attachment,
    no_vision,
    once_scaled,
    read_attachment,
    with_files,
)
from streamdesk.core.chat import Target
from streamdesk.ui.image_scaler import QtImageScaler, encode
from streamdesk.ui.transcript.thumbnails import placeholder, thumbnail_size, thumbnails

CHIP_THUMB = 40  # px, the longer edge of a chip's thumbnail
MAX_ITEMS = 10  # files per prompt

Outgoing = tuple[str, tuple[Attachment, ...]]  # the prompt as sent, and its images


class AttachmentTray(QWidget):
    """Chips of the files to send; hidden while there are none. `refused(reason)` says why a
    file was not added; `changed()` follows every add and removal."""

    changed = Signal()
    refused = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentTray")
        self._items: list[Attachment | TextFile] = []
        self._fitter = _image_fitter()
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(6)
        self._row.addStretch(1)
        self.hide()

    @property
    def items(self) -> tuple[Attachment | TextFile, ...]:
        return tuple(self._items)

    def add_path(self, path: str) -> bool:
        """Add the file at `path` (a picker's choice or a drop); False when refused."""
        try:
            self._add(read_attachment(Path(path)))
        except AttachmentRefused as exc:
            self.refused.emit(str(exc))
            return False
        return True

    def add_image(self, image: QImage, name: str = "pasted image.png") -> bool:
        """Add a pasted image, as a PNG."""
        try:
            self._add(load_attachment(name, encode(image, "PNG")))
        except AttachmentRefused as exc:
            self.refused.emit(str(exc))
            return False
        return True

    def outgoing_now(
        self, prompt: str, target: Target
    ) -> tuple[str, tuple[Attachment, ...]] | None:
        """`prompt` with the text files inlined, and the images as `target` is sent them; None
        when an image must be downscaled first (`await outgoing()`, which does it on a worker
        thread). `AttachmentRefused` (a model without vision, an image that cannot be scaled)
        leaves the tray as it is; the caller clears it once the prompt is sent."""
        images = self._images_for(target)
        if self._fitter.pending:
            return None
        return self._with_text(prompt), images

    async def outgoing(self, prompt: str, target: Target) -> Outgoing:
        """What `outgoing_now` gives, once the images it needs downscaled are (off the loop)."""
        built = self._images_for(target)
        images = await once_scaled(self._fitter, lambda: self._images_for(target), built)
        return self._with_text(prompt), images

    def _images_for(self, target: Target) -> tuple[Attachment, ...]:
        """The images as `target` is sent them, or as they are where a copy is still pending."""
        images = [i for i in self._items if isinstance(i, Attachment)]
        if images and not target.provider.reads_images(target.model):
            raise AttachmentRefused(no_vision(target.model))
        return tuple(self._fitter.fit(image, target.provider.api) for image in images)

    def _with_text(self, prompt: str) -> str:
        return with_files(prompt, [i for i in self._items if isinstance(i, TextFile)])

    def clear(self) -> None:
        while self._items:
            self.remove(0)
        self._fitter = _image_fitter()  # the sent copies are stored with the chat now

    def remove(self, index: int) -> None:
        del self._items[index]
        taken = self._row.takeAt(index)
        chip = taken.widget() if taken is not None else None
        if chip is not None:
            chip.deleteLater()
        self.setVisible(bool(self._items))
        self.changed.emit()

    def _add(self, item: Attachment | TextFile) -> None:
        if len(self._items) >= MAX_ITEMS:
            raise AttachmentRefused(f"At most {MAX_ITEMS} files can go with one prompt.")
        self._items.append(item)
        self._row.insertWidget(len(self._items) - 1, self._chip(item))
        self.show()
        self.changed.emit()

    def _chip(self, item: Attachment | TextFile) -> QFrame:
        chip = QFrame(self)
        chip.setObjectName("attachmentChip")
        line = QHBoxLayout(chip)
        line.setContentsMargins(4, 2, 2, 2)
        line.setSpacing(4)
        if isinstance(item, Attachment):
            picture = QLabel(chip)
            picture.setPixmap(QPixmap.fromImage(placeholder(thumbnail_size(item, CHIP_THUMB))))
            line.addWidget(picture)
            thumbnails().now_or_later(item, CHIP_THUMB, partial(_show_thumbnail, picture))
            chip.setToolTip(f"{item.name} · {item.label}")
        else:
            chip.setToolTip(f"{item.name} · inlined in the prompt as a code block")
        name = QLabel(item.name, chip)
        name.setObjectName("attachmentName")
        line.addWidget(name)
        remove = QToolButton(chip)
        remove.setObjectName("attachmentRemove")
        remove.setText("×")
        remove.setToolTip(f"Remove {item.name}")
        remove.setAccessibleName(f"Remove {item.name}")
        remove.setCursor(Qt.CursorShape.PointingHandCursor)
        remove.clicked.connect(lambda: self.remove(self._row.indexOf(chip)))
        line.addWidget(remove)
        return chip


def _image_fitter() -> ImageFitter:
    """Downscales the tray's images for the target API on a worker thread, keeping the copies
    while the prompt waits (a refusal, another model chosen) so each is scaled once."""
    return ImageFitter(QtImageScaler, deferred=True)


def _show_thumbnail(picture: QLabel, thumb: QImage | None) -> None:
    """A chip's thumbnail in place of its tile; no picture when the image cannot be decoded."""
    if not shiboken6.isValid(picture):  # the chip was removed meanwhile
        return
    if thumb is None:
        picture.hide()
    else:
        picture.setPixmap(QPixmap.fromImage(thumb))
