"""A prompt's images in the transcript: a row of small thumbnails, each with its name and size.

Each thumbnail is decoded from the image's bytes and registered with the `SafeDocument` under
a name of our own (`sd-image:<sha256>`), so the document shows only what the app gave it and
never loads a file or a URL. An image Qt cannot decode shows as its caption alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QTextCharFormat, QTextCursor, QTextDocument, QTextImageFormat

from streamdesk.core.attachments import Attachment
from streamdesk.ui.transcript.safe_document import SafeDocument

THUMB_EDGE = 120  # the longer edge of a thumbnail, in pixels
SCHEME = "sd-image:"


def thumbnail(image: Attachment, edge: int = THUMB_EDGE) -> QImage | None:
    """`image` scaled to fit `edge`×`edge` (never enlarged); None when it cannot be decoded."""
    decoded = QImage.fromData(image.data)
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


def put_thumbnails(
    doc: SafeDocument, c: QTextCursor, images: Sequence[Attachment], caption: QTextCharFormat
) -> None:
    """After `c`'s block: a line of thumbnails, then a caption line naming each image."""
    c.insertBlock()
    for image in images:
        thumb = thumbnail(image)
        if thumb is not None:
            if c.positionInBlock():
                c.insertText("  ", QTextCharFormat())
            name = SCHEME + image.digest
            doc.register(name, QTextDocument.ResourceType.ImageResource.value, thumb)
            fmt = QTextImageFormat()
            fmt.setName(name)
            fmt.setWidth(thumb.width())
            fmt.setHeight(thumb.height())
            fmt.setToolTip(f"{image.name} · {image.label}")
            c.insertImage(fmt)
    c.insertBlock()
    c.insertText("  ".join(f"{image.name} ({image.label})" for image in images), caption)
