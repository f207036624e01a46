"""A prompt's images in the transcript: a row of small thumbnails, each with its name and size.

Each thumbnail is decoded from the image's bytes and registered with the `SafeDocument` under
a name of our own (`sd-image:<sha256>`), so the document shows only what the app gave it and
never loads a file or a URL. An image Qt cannot decode shows as a crossed-out tile (of its
thumbnail's size when its header gives one) above its caption, its tooltip saying so.

A small image is decoded at once. A large one (a photo) is decoded on a worker thread, reading
only the pixels a thumbnail needs (a JPEG decodes straight to a fraction of its size), while
its place shows a plain tile of the thumbnail's size; the thumbnail replaces the tile when it
is ready. Thumbnails are kept per content hash and edge, so a photo is decoded once however
often it is drawn.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import shiboken6
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QRectF,
    QSize,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QColor,
    QImage,
    QImageReader,
    QPainter,
    QPen,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextImageFormat,
)

from streamdesk.core.attachments import Attachment
from streamdesk.ui.plain_text import plain_tooltip
from streamdesk.ui.transcript.safe_document import SafeDocument

THUMB_EDGE = 120  # the longer edge of a thumbnail, in pixels
SCHEME = "sd-image:"
DECODED_AT_ONCE = 512 * 512  # pixels: an image this small is decoded on the window's thread
KEPT = 256  # thumbnails kept for the next time their image is drawn
PLACEHOLDER = QColor(128, 128, 128, 48)  # the tile shown while a thumbnail is made
UNDECODABLE_INK = QColor(128, 128, 128, 200)  # the outline and cross of an image not decoded
UNDECODABLE_SIZE = QSize(48, 48)  # an image not decoded whose header gives no size either
UNDECODABLE_NOTE = " · cannot be shown: the image could not be decoded"  # on its tooltip
# A thumbnail's tooltip before escaping (name and size), for the note added once decoding fails.
_TIP = QTextFormat.Property.UserProperty + 20

Made = Callable[[QImage | None], None]


def thumbnail(image: Attachment, edge: int = THUMB_EDGE) -> QImage | None:
    """`image` scaled to fit `edge`×`edge` (never enlarged); None when it cannot be decoded.
    Any thread may call it (QImage is reentrant)."""
    buffer = QBuffer()
    buffer.setData(QByteArray(image.data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > edge:
        reader.setQuality(100)  # smooth filtering for what the decoder does not scale itself
        reader.setScaledSize(size.scaled(edge, edge, Qt.AspectRatioMode.KeepAspectRatio))
    decoded = reader.read()  # lets other Python threads run while it decodes
    if decoded.isNull():
        return None
    if max(decoded.width(), decoded.height()) <= edge:
        return decoded
    return decoded.scaled(
        edge,
        edge,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


def thumbnail_size(width: int, height: int, edge: int = THUMB_EDGE) -> QSize:
    """The size of the thumbnail of a `width`×`height` image (from its header)."""
    size = QSize(width, height)
    if max(width, height) <= edge:
        return size
    return size.scaled(edge, edge, Qt.AspectRatioMode.KeepAspectRatio)


def placeholder(size: QSize) -> QImage:
    """The plain tile shown in a thumbnail's place until it is made."""
    tile = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    tile.fill(PLACEHOLDER)
    return tile


def undecodable(size: QSize) -> QImage:
    """The tile shown for an image that cannot be decoded: outlined and crossed out (a blank
    space would look like an image still loading)."""
    tile = placeholder(size if size.width() > 1 and size.height() > 1 else UNDECODABLE_SIZE)
    painter = QPainter(tile)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(UNDECODABLE_INK)
    pen.setWidthF(1.5)
    painter.setPen(pen)
    box = QRectF(tile.rect()).adjusted(0.75, 0.75, -0.75, -0.75)
    painter.drawRect(box)
    painter.drawLine(box.topLeft(), box.bottomRight())
    painter.drawLine(box.bottomLeft(), box.topRight())
    painter.end()
    return tile


class Thumbnails(QObject):
    """Makes thumbnails, large images' on one worker thread, and keeps them per (content hash,
    edge); `made(digest, edge)` says, on the window's thread, that one is ready."""

    made = Signal(str, int)
    _finished = Signal(object)  # from the worker: (key, thumbnail or None)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._kept: OrderedDict[tuple[str, int], QImage | None] = OrderedDict()
        self._waiting: dict[tuple[str, int], list[Made]] = {}
        self._worker: ThreadPoolExecutor | None = None
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        """Thumbnails are being made on the worker thread."""
        return bool(self._waiting)

    def at_once(self, image: Attachment, edge: int, digest: str) -> tuple[bool, QImage | None]:
        """(True, thumbnail or None) when it is kept or the image is small enough to decode
        now; (False, None) when the worker must make it (`later`). `digest` is the image's."""
        key = (digest, edge)
        if key in self._kept:
            self._kept.move_to_end(key)
            return True, self._kept[key]
        if image.width * image.height > DECODED_AT_ONCE:
            return False, None
        made = thumbnail(image, edge)
        self._keep(key, made)
        return True, made

    def now_or_later(self, image: Attachment, edge: int, then: Made) -> bool:
        """Call `then(thumbnail or None)`: at once (True) when it is kept or the image is
        small, else on the window's thread once the worker has made it (False)."""
        digest = image.digest
        done, made = self.at_once(image, edge, digest)
        if done:
            then(made)
        else:
            self.later(image, edge, digest, then)
        return done

    def later(self, image: Attachment, edge: int, digest: str, then: Made) -> None:
        """Make `image`'s thumbnail on the worker thread; `then(thumbnail or None)` on the
        window's thread once it is ready."""
        key = (digest, edge)
        waiting = self._waiting.get(key)
        if waiting is not None:
            waiting.append(then)
            return
        self._waiting[key] = [then]
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="thumbnails")
        job = self._worker.submit(thumbnail, image, edge)
        job.add_done_callback(lambda done: self._finished.emit((key, _result(done))))

    @Slot(object)
    def _deliver(self, made: tuple[tuple[str, int], QImage | None]) -> None:
        key, thumb = made
        self._keep(key, thumb)
        for then in self._waiting.pop(key, []):
            then(thumb)
        self.made.emit(*key)

    def _keep(self, key: tuple[str, int], thumb: QImage | None) -> None:
        self._kept[key] = thumb
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)


def _result(job: Future[QImage | None]) -> QImage | None:
    return None if job.exception() is not None else job.result()


_shared: Thumbnails | None = None


def thumbnails() -> Thumbnails:
    """The app's thumbnails (made on first use, on the window's thread)."""
    global _shared
    if _shared is None:
        _shared = Thumbnails()
    return _shared


def put_thumbnails(
    doc: SafeDocument, c: QTextCursor, images: Sequence[Attachment], caption: QTextCharFormat
) -> None:
    """After `c`'s block: a line of thumbnails, then a caption line naming each image. A
    thumbnail not made yet shows as a tile of its size, replaced when it is ready."""
    c.insertBlock()
    for image in images:
        digest = image.digest
        name = SCHEME + digest
        size = thumbnail_size(image.width, image.height)
        done, thumb = thumbnails().at_once(image, THUMB_EDGE, digest)
        tip = f"{image.name} · {image.label}"
        if not done:
            thumb = placeholder(size)
            thumbnails().later(image, THUMB_EDGE, digest, partial(_replace, doc, name, size))
        elif thumb is None:
            thumb = undecodable(size)
            tip += UNDECODABLE_NOTE
        if c.positionInBlock():
            c.insertText("  ", QTextCharFormat())
        doc.register(name, QTextDocument.ResourceType.ImageResource.value, thumb)
        fmt = QTextImageFormat()
        fmt.setName(name)
        fmt.setWidth(thumb.width())
        fmt.setHeight(thumb.height())
        fmt.setProperty(_TIP, tip)
        fmt.setToolTip(plain_tooltip(tip))  # the file's name: anyone's words
        c.insertImage(fmt)
    c.insertBlock()
    c.insertText("  ".join(f"{image.name} ({image.label})" for image in images), caption)


def _replace(doc: SafeDocument, name: str, size: QSize, thumb: QImage | None) -> None:
    """Show the thumbnail made for the tile named `name` (of `size`; crossed out when the
    image could not be decoded), and repaint."""
    if not shiboken6.isValid(doc):  # its transcript was closed meanwhile
        return
    if thumb is None:
        thumb = undecodable(size)
        _note_undecodable(doc, name)
    doc.register(name, QTextDocument.ResourceType.ImageResource.value, thumb)
    layout = doc.documentLayout()
    if layout is not None:
        layout.update.emit()


def _note_undecodable(doc: SafeDocument, name: str) -> None:
    """Say on the tooltip of each image named `name` that it could not be decoded (found out
    on the worker, after it was drawn)."""
    block = doc.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            shown = fragment.charFormat()
            if shown.isImageFormat() and shown.toImageFormat().name() == name:
                noted = QTextCharFormat()
                noted.setToolTip(plain_tooltip(str(shown.property(_TIP)) + UNDECODABLE_NOTE))
                c = QTextCursor(doc)
                c.setPosition(fragment.position())
                c.setPosition(
                    fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor
                )
                c.mergeCharFormat(noted)
            fragments += 1
        block = block.next()
