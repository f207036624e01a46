"""`QtImageScaler`: the core's `ImageScaler` done with QImage (no QApplication needed).

An image is decoded once, scaled with smooth filtering so its longer edge fits the API's limit,
and encoded again: PNG when it has transparency or was a PNG or GIF (flat colours JPEG would
smear), JPEG otherwise (photos, opaque WebP). A PNG still too large in bytes goes out as JPEG;
a JPEG's quality steps down, and then its size, until it fits. A scaled GIF is its first frame.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QImage, QImageReader, QImageWriter, QPainter

from streamdesk.core.attachments import (
    Attachment,
    AttachmentRefused,
    ImageLimits,
    format_name,
    scaled_size,
)

JPEG_QUALITIES = (90, 80, 70, 60)
SHRINK_STEP = 0.75  # the next size tried when even the lowest quality is too large


class QtImageScaler:
    """Downscales and re-encodes images with QImage."""

    def scale(self, image: Attachment, limits: ImageLimits) -> Attachment:
        decoded = decode(image.data)
        if decoded.isNull():
            kind = format_name(image.mime)
            raise AttachmentRefused(f"{image.name} could not be decoded as a {kind} image.")
        width, height = scaled_size(decoded.width(), decoded.height(), limits.long_edge)
        if (width, height) != (decoded.width(), decoded.height()):
            decoded = decoded.scaled(
                width,
                height,
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        keep_png = decoded.hasAlphaChannel() or image.mime in ("image/png", "image/gif")
        if keep_png:
            data = encode(decoded, "PNG", -1)
            if len(data) <= limits.max_bytes:
                return _scaled(image, "image/png", data, decoded)
        if decoded.hasAlphaChannel():  # JPEG has no alpha: flatten onto white
            flat = QImage(decoded.size(), QImage.Format.Format_RGB32)
            flat.fill(Qt.GlobalColor.white)

            painter = QPainter(flat)
            painter.drawImage(0, 0, decoded)
            painter.end()
            decoded = flat
        while True:
            for quality in JPEG_QUALITIES:
                data = encode(decoded, "JPEG", quality)
                if len(data) <= limits.max_bytes:
                    return _scaled(image, "image/jpeg", data, decoded)
            if min(decoded.width(), decoded.height()) <= 16:
                raise AttachmentRefused(f"{image.name} cannot be made small enough to send.")
            decoded = decoded.scaled(
                max(1, int(decoded.width() * SHRINK_STEP)),
                max(1, int(decoded.height() * SHRINK_STEP)),
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )


def decode(data: bytes) -> QImage:
    """`data` decoded as `QImage.fromData` decodes it, by the same QImageReader; its read lets
    other Python threads run (the window's loop while a worker scales), fromData does not."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    return QImageReader(buffer).read()


def encode(image: QImage, fmt: str, quality: int = -1) -> bytes:
    """`image` encoded as `fmt` ("PNG", "JPEG"); -1: the format's default quality."""
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(fmt.encode("ascii")))
    writer.setQuality(quality)
    if not writer.write(image):
        raise AttachmentRefused(f"the image could not be encoded as {fmt}: {writer.errorString()}")
    buffer.close()
    return bytes(array.data())


def _scaled(image: Attachment, mime: str, data: bytes, decoded: QImage) -> Attachment:
    return Attachment(image.name, mime, data, decoded.width(), decoded.height())
