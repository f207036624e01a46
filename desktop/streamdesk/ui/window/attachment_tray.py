"""The files waiting to go with the next prompt: a row of removable chips above the prompt box.

Files come from the attach button's picker, a drop or a paste onto the prompt box. Each is
checked at once by the core's rules (size before reading, type from its bytes), so a file that
cannot be sent is refused with its reason before the user writes a word more; an image chip
shows a thumbnail, a text file its name. `outgoing()` gives what a prompt sends with them.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, Signal, Slot
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
from streamdesk.ui.transcript.thumbnails import (
    DECODED_AT_ONCE,
    placeholder,
    thumbnail_size,
    thumbnails,
)

CHIP_THUMB = 40  # px, the longer edge of a chip's thumbnail
MAX_ITEMS = 10  # files per prompt

Outgoing = tuple[str, tuple[Attachment, ...]]  # the prompt as sent, and its images


class AttachmentTray(QWidget):
    """Chips of the files to send; hidden while there are none. `refused(reason)` says why a
    file was not added; `changed()` follows every add and removal."""

    changed = Signal()
    refused = Signal(str)
    _encoded = Signal(object)  # from the worker: a pasted image's PNG is made (`Pasting`)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentTray")
        self._items: list[Attachment | TextFile | Pasting] = []
        self._fitter = _image_fitter()
        self._preparing: asyncio.Task[None] | None = None  # `prepare`'s scaling
        self._encoder: ThreadPoolExecutor | None = None
        self._encoded.connect(self._take_encoded, Qt.ConnectionType.QueuedConnection)
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(6)
        self._row.addStretch(1)
        self.hide()

    @property
    def items(self) -> tuple[Attachment | TextFile, ...]:
        """The files ready to send (a large pasted image once its PNG is made)."""
        return tuple(i for i in self._items if not isinstance(i, Pasting))

    @property
    def has_files(self) -> bool:
        """Files wait to go with the next prompt, ready or still being made."""
        return bool(self._items)

    def add_path(self, path: str) -> bool:
        """Add the file at `path` (a picker's choice or a drop); False when refused."""
        try:
            self._add(read_attachment(Path(path)))
        except AttachmentRefused as exc:
            self.refused.emit(str(exc))
            return False
        return True

    def add_image(self, image: QImage, name: str = "pasted image.png") -> bool:
        """Add a pasted image, as a PNG. A large one is encoded on a worker thread, its chip
        shown meanwhile; a PNG too large to attach is refused then (`refused`)."""
        try:
            if image.width() * image.height() <= DECODED_AT_ONCE:
                self._add(_pasted_png(image, name))
            else:
                if self._encoder is None:
                    self._encoder = ThreadPoolExecutor(1, thread_name_prefix="pasted-images")
                job = self._encoder.submit(png_or_refusal, image, name)
                pasting = Pasting(name, image.width(), image.height(), job)
                self._add(pasting)
                job.add_done_callback(lambda _job: self._encoded.emit(pasting))
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
        if self._fitter.pending or self._pasting():
            return None
        return self._with_text(prompt), images

    async def outgoing(self, prompt: str, target: Target) -> Outgoing:
        """What `outgoing_now` gives, once the pasted images are encoded and the images it needs
        downscaled are (off the loop)."""
        for pasting in self._pasting():
            made = await asyncio.wrap_future(pasting.job)
            if isinstance(made, str):
                raise AttachmentRefused(made)
            self._take_encoded(pasting)
        if self._preparing is not None:  # the copies `prepare` is making: not made twice
            await asyncio.shield(self._preparing)
        built = self._images_for(target)
        images = await once_scaled(self._fitter, lambda: self._images_for(target), built)
        return self._with_text(prompt), images

    def prepare(self, target: Target) -> None:
        """Start downscaling the images for `target` on a worker thread now, while the prompt
        is still being written, so that Enter finds the copies made. A refusal (a model without
        vision) is left for Enter to say."""
        try:
            self._images_for(target)  # marks the images that need a copy as pending
            loop = asyncio.get_running_loop()
        except (AttachmentRefused, RuntimeError):  # RuntimeError: no loop runs (tests)
            return
        if self._fitter.pending and self._preparing is None:
            self._preparing = loop.create_task(self._scale(self._fitter))

    async def _scale(self, fitter: ImageFitter) -> None:
        """Scale what `fitter` has pending, again while `prepare` adds more (another model)."""
        try:
            while fitter.pending:
                await fitter.scale_pending()
        finally:
            if fitter is self._fitter:
                self._preparing = None

    def _images_for(self, target: Target) -> tuple[Attachment, ...]:
        """The images as `target` is sent them, or as they are where a copy is still pending."""
        images = [i for i in self._items if isinstance(i, Attachment)]
        if (images or self._pasting()) and not target.provider.reads_images(target.model):
            raise AttachmentRefused(no_vision(target.model))
        return tuple(self._fitter.fit(image, target.provider.api) for image in images)

    def _pasting(self) -> list[Pasting]:
        return [i for i in self._items if isinstance(i, Pasting)]

    @Slot(object)
    def _take_encoded(self, pasting: Pasting) -> None:
        """A pasted image's PNG is made: its chip shows it, or goes with the reason it cannot
        be attached. Nothing when the chip was removed meanwhile."""
        index = next((n for n, item in enumerate(self._items) if item is pasting), None)
        if index is None:
            return
        made = pasting.job.result()
        if isinstance(made, str):
            self.remove(index)
            self.refused.emit(made)
            return
        self._items[index] = made
        taken = self._row.takeAt(index)
        old = taken.widget() if taken is not None else None
        if old is not None:
            old.deleteLater()
        self._row.insertWidget(index, self._chip(made))
        self.changed.emit()

    def _with_text(self, prompt: str) -> str:
        return with_files(prompt, [i for i in self._items if isinstance(i, TextFile)])

    def clear(self) -> None:
        while self._items:
            self.remove(0)
        self._fitter = _image_fitter()  # the sent copies are stored with the chat now
        self._preparing = None  # a scaling still running works for the old fitter only

    def remove(self, index: int) -> None:
        del self._items[index]
        taken = self._row.takeAt(index)
        chip = taken.widget() if taken is not None else None
        if chip is not None:
            chip.deleteLater()
        self.setVisible(bool(self._items))
        self.changed.emit()

    def _add(self, item: Attachment | TextFile | Pasting) -> None:
        if len(self._items) >= MAX_ITEMS:
            raise AttachmentRefused(f"At most {MAX_ITEMS} files can go with one prompt.")
        self._items.append(item)
        self._row.insertWidget(len(self._items) - 1, self._chip(item))
        self.show()
        self.changed.emit()

    def _chip(self, item: Attachment | TextFile | Pasting) -> QFrame:
        chip = QFrame(self)
        chip.setObjectName("attachmentChip")
        line = QHBoxLayout(chip)
        line.setContentsMargins(4, 2, 2, 2)
        line.setSpacing(4)
        if not isinstance(item, TextFile):  # a tile until the thumbnail is made
            picture = QLabel(chip)
            tile = placeholder(thumbnail_size(item.width, item.height, CHIP_THUMB))
            picture.setPixmap(QPixmap.fromImage(tile))
            line.addWidget(picture)
        if isinstance(item, Attachment):
            thumbnails().now_or_later(item, CHIP_THUMB, partial(_show_thumbnail, picture))
            chip.setToolTip(f"{item.name} · {item.label}")
        elif isinstance(item, Pasting):
            chip.setToolTip(f"{item.name} · {item.width}×{item.height}, being prepared")
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


@dataclass(frozen=True, eq=False)
class Pasting:
    """A large pasted image whose PNG a worker thread is making (`job`: it, or the refusal)."""

    name: str
    width: int
    height: int
    job: Future[Attachment | str]


def _pasted_png(image: QImage, name: str) -> Attachment:
    """`image` as the PNG attachment a paste adds; `AttachmentRefused` when too large."""
    made = load_attachment(name, encode(image, "PNG"))
    assert isinstance(made, Attachment)  # a PNG's bytes are always read as an image
    return made


def png_or_refusal(image: QImage, name: str) -> Attachment | str:
    """A pasted image's PNG attachment, or why it cannot be attached (any thread may call it)."""
    try:
        return _pasted_png(image, name)
    except AttachmentRefused as exc:
        return str(exc)


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
