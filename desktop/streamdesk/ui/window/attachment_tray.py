"""The files waiting to go with the next prompt: a row of removable chips above the prompt box.

Files come from the attach button's picker, a drop or a paste onto the prompt box. Each is
checked at once by the core's rules (size before reading, type from its bytes) and an image by
Qt's reader (its header, and its pixels while the thumbnail is made), so a file that cannot be
sent is refused with its reason before the user writes a word more; the files one drop or one
pick refuses are said together. An image chip shows a thumbnail, a text file its name; a file
found unsendable later (its pixels, or its copy for the API on Enter) stays marked until it is
removed. A refusal is said no more once its file is removed or the prompt is sent (`withdrawn`).
`outgoing()` gives what a prompt sends with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QImageReader
from PySide6.QtWidgets import QWidget

from streamdesk.core.attachments import (
    Attachment,
    AttachmentRefused,
    ImageFitter,
    ImageLimits,
    ImageScaler,
    TextFile,
    load_attachment,
    no_vision,
    read_attachment,
    undecodable,
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
from streamdesk.ui.window.attachment_chip import AttachmentChip
from streamdesk.ui.window.flow_layout import FlowLayout

CHIP_THUMB = 40  # px, the longer edge of a chip's thumbnail
MAX_ITEMS = 10  # files per prompt
LISTED = 3  # refused files named in the banner; the rest are counted, all in its tooltip
NAME_CHARACTERS = 40  # of a refused file's name in that list; a longer one loses its middle

Outgoing = tuple[str, tuple[Attachment, ...]]  # the prompt as sent, and its images

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class AttachmentTray(QWidget):
    """Chips of the files to send; hidden while there are none. `refused(notice)` says why
    files were not added or cannot be sent (`notice()`); `withdrawn()` that a refusal holds no
    more; `changed()` follows every add and removal."""

    changed = Signal()
    refused = Signal(str)
    withdrawn = Signal()
    _encoded = Signal(object)  # from the worker: a pasted image's PNG is made (`Pasting`)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentTray")
        self._items: list[Attachment | TextFile | Pasting] = []
        self._refusals: list[Refusal] = []  # those that hold
        self._said: set[str] = set()  # every refusal said or raised since the prompt was sent
        self._fitter = _image_fitter()
        self._scaling: dict[str, asyncio.Task[None]] = {}  # per API: its copies' scaling
        self._closed = False  # `aclose` ran: nothing new starts
        self._prepare_for: Callable[[], Target] | None = None  # `prepare`'s, until it runs
        self._prepare_soon = QTimer(self)
        self._prepare_soon.setSingleShot(True)
        self._prepare_soon.setInterval(0)
        self._prepare_soon.timeout.connect(self._prepare_now)
        self._encoder: ThreadPoolExecutor | None = None
        self._encoded.connect(self._take_encoded, Qt.ConnectionType.QueuedConnection)
        self._row = FlowLayout(self, spacing=6)  # chips wrap onto more lines, never squeezed
        self._row.setContentsMargins(0, 0, 0, 0)
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
        """Add the file at `path`; False when refused."""
        return self.add_paths([path]) == 1

    def add_paths(self, paths: Iterable[str]) -> int:
        """Add the files at `paths` (a picker's choice or a drop), checked one by one; those
        refused are said together (`refused`). The number added."""
        refused, added = [], 0
        for path in paths:
            try:
                self._add(read_attachment(Path(path)))
                added += 1
            except AttachmentRefused as exc:
                refused.append(Refusal(Path(path).name or path, exc.why, str(exc)))
        self._attached(refused)
        return added

    def add_image(self, image: QImage, name: str = "pasted image.png") -> bool:
        """Add a pasted image, as a PNG. A large one is encoded on a worker thread, its chip
        shown meanwhile; a PNG too large to attach is refused then (`refused`). False when
        refused, or when the tray is closed."""
        if self._closed:
            return False
        try:
            if image.width() * image.height() <= DECODED_AT_ONCE:
                self._add(_pasted_png(image, name))
            else:
                if self._encoder is None:
                    self._encoder = ThreadPoolExecutor(1, thread_name_prefix="pasted-images")
                job = self._encoder.submit(_png_or_failure, image, name)
                pasting = Pasting(name, image.width(), image.height(), job)
                self._add(pasting)
                job.add_done_callback(lambda _job: self._encoded.emit(pasting))
        except AttachmentRefused as exc:
            self._attached([Refusal(name, exc.why, str(exc))])
            return False
        self._attached([])
        return True

    def notice(self) -> tuple[str, str]:
        """What the banner says of the refusals that hold ("" when none does), and the whole
        list for its tooltip when it names several in short."""
        return refusal_notice(self._refusals)

    def said(self, text: str) -> bool:
        """`text` is a refusal the tray said or raised since the prompt was last sent."""
        return text in self._said

    def _attached(self, refused: list[Refusal]) -> None:
        """Files were attached, `refused` not: the files the attach before left out are said no
        more, those left out now are."""
        stale = [r for r in self._refusals if r.item is None]
        self._refusals = [r for r in self._refusals if r.item is not None] + refused
        if refused:
            self._say()
        elif stale:
            self.withdrawn.emit()

    def _say(self) -> None:
        text, _details = self.notice()
        self._said.add(text)
        self.refused.emit(text)

    def _raised(self, exc: AttachmentRefused) -> AttachmentRefused:
        """`exc`, noted as said: the caller says it (Enter)."""
        self._said.add(str(exc))
        return exc

    def _mark(self, item: Attachment, refusal: Refusal) -> None:
        """Mark `item`'s chip as one that cannot be sent, and why (in place of an older why)."""
        self._refusals = [r for r in self._refusals if r.item is not item] + [refusal]
        index = self._index_of(item)
        taken = self._row.itemAt(index) if index is not None else None
        chip = taken.widget() if taken is not None else None
        if isinstance(chip, AttachmentChip):
            chip.mark_refused(refusal.message)

    def _refusal_of(self, item: Attachment, api: str) -> Refusal | None:
        """The refusal that holds for `item` sent to `api`, if one does."""
        return next((r for r in self._refusals if r.item is item and r.api in (None, api)), None)

    def _index_of(self, item: object) -> int | None:
        return next((n for n, kept in enumerate(self._items) if kept is item), None)

    def outgoing_now(
        self, prompt: str, target: Target
    ) -> tuple[str, tuple[Attachment, ...]] | None:
        """`prompt` with the text files inlined, and the images as `target` is sent them; None
        when an image must be downscaled first (`await outgoing()`, which does it on a worker
        thread). `AttachmentRefused` (a model without vision, an image that cannot be scaled)
        leaves the tray as it is; the caller clears it once the prompt is sent."""
        images = self._images_for(target)
        if self._waiting_for(target.provider.api) or self._pasting():
            return None
        return self._with_text(prompt), images

    def outgoing(self, prompt: str, target: Target) -> Awaitable[Outgoing]:
        """What `outgoing_now` gives, once the pasted images are encoded and the copies
        `target`'s API needs are made (off the loop); copies still being made for another API
        (a provider chosen before) are not waited for. The pastes being encoded when this is
        called are the prompt's: one that fails before it is awaited still stops it."""
        return _OnAwait(partial(self._when_ready, prompt, target, self._pasting()))

    async def _when_ready(self, prompt: str, target: Target, pastes: list[Pasting]) -> Outgoing:
        for pasting in pastes:
            made = await asyncio.wrap_future(pasting.job)
            self._settle(pasting)  # unless `_take_encoded` did
            if isinstance(made, str):
                raise self._raised(AttachmentRefused(made))
        images = self._images_for(target)
        api = target.provider.api
        while self._waiting_for(api):  # the scaling `prepare` started, if it did: each image once
            await asyncio.shield(self._scaled(api))
            images = self._images_for(target)
        return self._with_text(prompt), images

    def prepare(self, target: Callable[[], Target]) -> None:
        """Downscale the images for `target()` on a worker thread while the prompt is still
        being written, so that Enter finds the copies made. Done once the events being handled
        are (however many files a drop adds, however often it is asked), for the target then.
        A refusal (a model without vision) is left for Enter to say. Nothing once closed."""
        if self._closed:
            return
        self._prepare_for = target
        self._prepare_soon.start()

    @Slot()
    def _prepare_now(self) -> None:
        target, self._prepare_for = self._prepare_for, None
        if target is None or not self._items or self._closed:
            return
        chosen = target()
        try:
            self._images_for(chosen)  # marks the images that need a copy as pending
        except AttachmentRefused:
            return
        if self._waiting_for(chosen.provider.api):
            with contextlib.suppress(RuntimeError):  # no loop runs (tests)
                self._scaled(chosen.provider.api)

    def _waiting_for(self, api: str) -> bool:
        """One of the tray's images waits for its copy for `api` (a removed one is not waited
        for)."""
        waiting = self._fitter.pending_for(api)
        return any(i.digest in waiting for i in self._items if isinstance(i, Attachment))

    def _scaled(self, api: str) -> asyncio.Task[None]:
        """The scaling of the copies pending for `api`, started when none runs: `prepare` and
        `outgoing` share it, so no image is scaled twice; each API's runs on its own, so a
        prompt never waits for the copies of another."""
        task = self._scaling.get(api)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._scale(self._fitter, api))
            task.add_done_callback(_log_failure)
            self._scaling[api] = task
        return task

    async def _scale(self, fitter: ImageFitter, api: str) -> None:
        """Scale what `fitter` has pending for `api`, again while `prepare` adds more."""
        try:
            while fitter.pending_for(api):
                await fitter.scale_pending(api)
        finally:
            if self._scaling.get(api) is asyncio.current_task():
                del self._scaling[api]

    async def aclose(self) -> None:
        """Stop scaling the images and encoding the pastes (the window closes): nothing is left
        running on the loop, and nothing new starts (a paste that ends meanwhile is dropped)."""
        self._closed = True
        self._prepare_soon.stop()
        self._prepare_for = None
        tasks = list(self._scaling.values())
        self._scaling.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        encoder, self._encoder = self._encoder, None
        if encoder is not None:  # the paste being encoded ends; those queued do not start
            await asyncio.to_thread(encoder.shutdown, wait=True, cancel_futures=True)

    def _images_for(self, target: Target) -> tuple[Attachment, ...]:
        """The images as `target` is sent them, or as they are where a copy is still pending.
        An image that cannot be is marked, and its refusal raised."""
        images = [i for i in self._items if isinstance(i, Attachment)]
        if (images or self._pasting()) and not target.provider.reads_images(target.model):
            raise self._raised(AttachmentRefused(no_vision(target.model)))
        api, fitted = target.provider.api, []
        for image in images:
            if (held := self._refusal_of(image, api)) is not None:
                raise self._raised(AttachmentRefused(held.message, held.why))
            try:
                fitted.append(self._fitter.fit(image, api))
            except AttachmentRefused as exc:
                self._mark(image, Refusal(image.name, exc.why, str(exc), image, api))
                raise self._raised(exc) from None
        return tuple(fitted)

    def _pasting(self) -> list[Pasting]:
        return [i for i in self._items if isinstance(i, Pasting)]

    @Slot(object)
    def _take_encoded(self, pasting: Pasting) -> None:
        """A pasted image's PNG is made: its chip shows it, or goes with the reason it cannot
        be attached (`refused`)."""
        if self._settle(pasting) is not None:
            self._say()

    def _settle(self, pasting: Pasting) -> str | None:
        """The chip of a paste whose PNG is made shows it, or goes: then the reason it cannot
        be attached (a refusal that holds). Nothing when the chip was removed meanwhile, or the
        tray closed."""
        index = self._index_of(pasting)
        if index is None or self._closed:
            return None
        made = pasting.job.result()
        if isinstance(made, str):
            self.remove(index)
            self._refusals.append(Refusal(pasting.name, made, made))
            return made
        self._items[index] = made
        self._drop_chip(index)
        self._row.insertWidget(index, self._chip(made))
        self.changed.emit()
        return None

    def _with_text(self, prompt: str) -> str:
        return with_files(prompt, [i for i in self._items if isinstance(i, TextFile)])

    def clear(self) -> None:
        """Remove every file (the prompt went with them): one `changed`, nothing prepared; a
        scaling still running is stopped, its copies wanted no more (the chat stores what was
        sent). Every refusal said is taken back (`withdrawn`)."""
        if self._said or self._refusals:
            self._refusals.clear()
            self.withdrawn.emit()
            self._said.clear()
        self._prepare_soon.stop()
        self._prepare_for = None
        for task in self._scaling.values():
            task.cancel()
        self._scaling.clear()
        self._fitter = _image_fitter()
        if not self._items:
            return
        for _ in self._items:
            self._drop_chip(0)
        self._items.clear()
        self.hide()
        self.changed.emit()

    def remove(self, index: int) -> None:
        """Remove the file at `index`: a refusal of it is said no more (`withdrawn`) and
        forgotten (attached again, it is tried again)."""
        item = self._items.pop(index)
        self._drop_chip(index)
        if isinstance(item, Attachment):
            self._fitter.forget_refusals(item.digest)
        kept = [r for r in self._refusals if r.item is not item]
        withdrawn, self._refusals = len(kept) < len(self._refusals), kept
        self.setVisible(bool(self._items))
        self.changed.emit()
        if withdrawn:
            self.withdrawn.emit()

    def _drop_chip(self, index: int) -> None:
        taken = self._row.takeAt(index)
        chip = taken.widget() if taken is not None else None
        if chip is not None:
            chip.deleteLater()

    def _add(self, item: Attachment | TextFile | Pasting) -> None:
        if len(self._items) >= MAX_ITEMS:
            raise AttachmentRefused(
                f"At most {MAX_ITEMS} files can go with one prompt.", f"over {MAX_ITEMS} files"
            )
        if isinstance(item, Attachment):
            _check_decodable(item)
        self._items.append(item)
        self._row.insertWidget(len(self._items) - 1, self._chip(item))
        self.show()
        self.changed.emit()

    def _chip(self, item: Attachment | TextFile | Pasting) -> AttachmentChip:
        if isinstance(item, TextFile):
            tip, tile = f"{item.name} · inlined in the prompt as a code block", None
        else:  # a tile until the thumbnail is made
            tile = placeholder(thumbnail_size(item.width, item.height, CHIP_THUMB))
            if isinstance(item, Attachment):
                tip = f"{item.name} · {item.label}"
            else:
                tip = f"{item.name} · {item.width}×{item.height}, being prepared"
        chip = AttachmentChip(item.name, tip, tile, self)
        chip.removeRequested.connect(lambda: self.remove(self._row.indexOf(chip)))
        if isinstance(item, Attachment):
            thumbnails().now_or_later(item, CHIP_THUMB, partial(self._thumbnail_made, chip, item))
        return chip

    def _thumbnail_made(self, chip: AttachmentChip, item: Attachment, thumb: QImage | None) -> None:
        """The chip shows `item`'s thumbnail; an image whose pixels cannot be decoded is marked
        as one that cannot be sent, and said."""
        if not shiboken6.isValid(chip):  # the chip was removed meanwhile
            return
        chip.show_thumbnail(thumb)
        if thumb is None and self._index_of(item) is not None and not self._closed:
            refused = undecodable(item.name, item.mime)
            self._mark(item, Refusal(item.name, refused.why, str(refused), item))
            self._say()


class _OnAwait(Generic[_T]):
    """An awaitable whose coroutine is made when it is awaited: dropped unawaited (its task
    cancelled before it ran), it leaves no coroutine never awaited."""

    def __init__(self, start: Callable[[], Coroutine[Any, Any, _T]]) -> None:
        self._start = start

    def __await__(self) -> Generator[Any, None, _T]:
        return self._start().__await__()


@dataclass(frozen=True, eq=False)
class Refusal:
    """Why a file cannot go with the prompt: the whole sentence, and `why` in a few words.
    `item` is the tray's file it marks (None: the file was not attached), `api` the API whose
    copy could not be made (None: it goes to none)."""

    name: str
    why: str
    message: str
    item: Attachment | None = None
    api: str | None = None


def refusal_notice(refusals: Sequence[Refusal]) -> tuple[str, str]:
    """What the banner says of `refusals`: one's own sentence, or several's names and whys in
    short ("4 files were not attached: a.bin (…), …"), with every sentence for its tooltip."""
    if len(refusals) <= 1:
        return (refusals[0].message if refusals else ""), ""
    left_out = [r for r in refusals if r.item is None]
    marked = [r for r in refusals if r.item is not None]
    parts = []
    if left_out:
        were = "was" if len(left_out) == 1 else "were"
        parts.append(f"{_files(len(left_out))} {were} not attached: {_listed(left_out)}.")
    if marked:
        them = "it" if len(marked) == 1 else "them"
        parts.append(
            f"{_files(len(marked))} cannot be sent: {_listed(marked)}; "
            f"remove {them} to send the prompt."
        )
    return " ".join(parts), "\n".join(r.message for r in refusals)


def _files(count: int) -> str:
    return "1 file" if count == 1 else f"{count} files"


def _listed(refusals: Sequence[Refusal]) -> str:
    named = [f"{_short(r.name)} ({r.why})" for r in refusals[:LISTED]]
    more = len(refusals) - len(named)
    return ", ".join(named) + (f" and {more} more" if more else "")


def _short(name: str) -> str:
    """`name`, its middle left out when longer than `NAME_CHARACTERS`."""
    if len(name) <= NAME_CHARACTERS:
        return name
    half = (NAME_CHARACTERS - 1) // 2
    return name[:half] + "…" + name[-half:]


def _check_decodable(image: Attachment) -> None:
    """`AttachmentRefused` for an image Qt knows the type of but cannot read the size of (a
    GIF header and then text), or a small one whose pixels cannot be decoded (its chip's
    thumbnail, made now and kept). A large one's pixels are tried while its thumbnail is made."""
    buffer = QBuffer()
    buffer.setData(QByteArray(image.data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    if reader.canRead() and not reader.size().isValid():
        raise undecodable(image.name, image.mime)
    done, thumb = thumbnails().at_once(image, CHIP_THUMB, image.digest)
    if done and thumb is None:
        raise undecodable(image.name, image.mime)


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


def _png_or_failure(image: QImage, name: str) -> Attachment | str:
    """`png_or_refusal`, an unexpected error in it (logged) said as why the paste is dropped:
    its chip goes, and Enter then sends the rest instead of failing again."""
    try:
        return png_or_refusal(image, name)
    except Exception as exc:
        log.error("a pasted image could not be encoded", exc_info=exc)
        return f"{name} could not be prepared for sending ({_error(exc)}) and was removed."


def _image_fitter() -> ImageFitter:
    """Downscales the tray's images for the target API on a worker thread, keeping the copies
    while the prompt waits (a refusal, another model chosen) so each is scaled once."""
    return ImageFitter(lambda: _ScalerErrorsRefused(QtImageScaler()), deferred=True)


class _ScalerErrorsRefused:
    """The window's scaler, an unexpected error in it (logged) kept as that image's refusal:
    the other images are still scaled, and Enter says which image failed, at once, instead of
    failing again on every press."""

    def __init__(self, scaler: ImageScaler) -> None:
        self._scaler = scaler

    def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
        try:
            return self._scaler.scale(image, limits)
        except AttachmentRefused:
            raise
        except Exception as exc:
            log.error("%s could not be scaled", image.name, exc_info=exc)
            raise AttachmentRefused(
                f"{image.name} could not be prepared for sending ({_error(exc)}); "
                "remove it to send the prompt."
            ) from exc


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _log_failure(scaling: asyncio.Task[None]) -> None:
    """Say why a scaling failed, however it ended (`outgoing` may not be waiting on it)."""
    if not scaling.cancelled() and (error := scaling.exception()) is not None:
        log.error("the attached images could not be scaled", exc_info=error)
