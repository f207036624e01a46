"""Files sent with a prompt: images as image parts, text and code inlined as fenced blocks.

Everything here is pure Python: the MIME type comes from the file's first bytes (never its
name), the pixel size from the image header (PNG IHDR, JPEG SOF, GIF screen descriptor, WebP
VP8/VP8L/VP8X), and the size rules are checked before anything is decoded. Decoding and
downscaling need an image library, so they sit behind `ImageScaler`; the desktop package
implements it with Qt's QImage (`streamdesk.ui.image_scaler`), which the core never imports.

Limits per API (`IMAGE_LIMITS`), chosen from each vendor's documentation: OpenAI scales an
image to fit 2048 px and bills its tiles, so a longer edge only costs upload time; Anthropic
resizes anything over 1568 px on the long edge and takes at most 5 MB per image; Gemini
tiles at up to 3072 px and caps an inline request at 20 MB, so its images are held to 5 MB
too. An image within its API's limits is sent as it came, byte for byte.

Images are stored as they were sent and go again with every later request of their
conversation, which may be to another API or model: `ImageFitter` makes them fit it then, by
the same rules, without changing what is stored.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import re
import struct
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from streamdesk.core.errors import StreamdeskError

if TYPE_CHECKING:
    from streamdesk.core.providers import Provider

IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp")
MAX_FILE_BYTES = 20 * 1024 * 1024  # what may be attached at all, before any downscaling
MAX_TEXT_BYTES = 1024 * 1024  # a text file inlined into the prompt
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # an image as sent, after downscaling
FITTED_CACHE_BYTES = 64 * 1024 * 1024  # scaled copies of stored images kept for later requests

_T = TypeVar("_T")


class AttachmentRefused(StreamdeskError):
    """A file cannot be attached; the message says which, why and what to do. `why` says the
    reason in a few words, for a list of several files ("a directory"); the message itself
    when none is given."""

    def __init__(self, message: str, why: str = "") -> None:
        super().__init__(message)
        self.why = why or message


@dataclass(frozen=True, slots=True)
class Attachment:
    """An image as it is sent (and stored): its bytes, MIME type and pixel size."""

    name: str
    mime: str
    data: bytes = field(repr=False)
    width: int = 0
    height: int = 0
    _digest: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def digest(self) -> str:
        """The SHA-256 of the bytes: one stored copy however often it is attached. Hashed once
        (a photo's megabytes are asked for on every fit and thumbnail), and never in `replace`'s
        copies, which start without it."""
        digest = self._digest
        if digest is None:
            digest = hashlib.sha256(self.data).hexdigest()
            object.__setattr__(self, "_digest", digest)  # frozen: a cache, not a change
        return digest

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{self.base64}"

    @property
    def label(self) -> str:
        """What the image is, as the mock and the chips say it: "64×64 PNG"."""
        return f"{self.width}×{self.height} {format_name(self.mime)}"


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """The largest image one API is sent: its longer edge in pixels and its size in bytes."""

    long_edge: int
    max_bytes: int = MAX_IMAGE_BYTES


IMAGE_LIMITS = {
    "chat": ImageLimits(2048),
    "responses": ImageLimits(2048),
    "anthropic": ImageLimits(1568),
    "gemini": ImageLimits(3072),
}


def limits_for(api: str) -> ImageLimits:
    """The limits of `api`; an API not listed gets the strictest (Anthropic's)."""
    return IMAGE_LIMITS.get(api, IMAGE_LIMITS["anthropic"])


class ImageScaler(Protocol):
    """Decodes an image and encodes it again no larger than `limits` (PNG for images with few
    colours or transparency, JPEG for photos); raises `AttachmentRefused` when it cannot."""

    def scale(self, image: Attachment, limits: ImageLimits) -> Attachment: ...


def format_name(mime: str) -> str:
    return {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP"}.get(
        mime, mime
    )


def sniff_image(data: bytes) -> str | None:
    """The MIME type of an image we send, from its magic bytes; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_size(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) read from the header of a PNG, JPEG, GIF or WebP; None when the header
    is damaged or cut short."""
    try:
        if mime == "image/png":
            if data[12:16] != b"IHDR":
                return None
            width, height = struct.unpack(">II", data[16:24])
            return width, height
        if mime == "image/gif":
            width, height = struct.unpack("<HH", data[6:10])
            return width, height
        if mime == "image/webp":
            return _webp_size(data)
        if mime == "image/jpeg":
            return _jpeg_size(data)
    except struct.error:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: the frame header after a 3-byte tag and a start code
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":  # lossless: 14 bits each, after the 0x2F signature
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas size minus one
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The size in the first start-of-frame segment, walking the segments from SOI."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None


def image_attachment(name: str, data: bytes) -> Attachment:
    """An image from its bytes (type and size from its header); `AttachmentRefused` when it is
    not a PNG, JPEG, GIF or WebP or its header cannot be read."""
    mime = sniff_image(data)
    if mime is None:
        raise AttachmentRefused(
            f"{name} is not a PNG, JPEG, GIF or WebP image.", "not a PNG, JPEG, GIF or WebP image"
        )
    size = image_size(data, mime)
    if size is None or min(size) < 1:
        kind = format_name(mime)
        raise AttachmentRefused(f"{name} is a damaged {kind} image.", f"a damaged {kind} image")
    return Attachment(name, mime, data, *size)


def too_large(name: str, size: int, limit: int = MAX_FILE_BYTES) -> AttachmentRefused:
    return AttachmentRefused(
        f"{name} is {megabytes(size)}; files up to {megabytes(limit)} can be attached. "
        "Make it smaller or attach a part of it.",
        f"{megabytes(size)}, over {megabytes(limit)}",
    )


def undecodable(name: str, mime: str) -> AttachmentRefused:
    """An image whose header names its type but whose pixels cannot be decoded."""
    kind = format_name(mime)
    return AttachmentRefused(
        f"{name} could not be decoded as a {kind} image.", f"not a readable {kind} image"
    )


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass(frozen=True, slots=True)
class TextFile:
    """A text or code file, inlined into the prompt as a fenced block named by the file."""

    name: str
    text: str

    def block(self) -> str:
        fence = fence_for(self.text)
        language = _LANGUAGES.get(Path(self.name).suffix.lower(), "")
        return f"{self.name}\n{fence}{language}\n{self.text.rstrip(chr(10))}\n{fence}"


_LANGUAGES = {
    ".py": "python", ".js": "javascript", ".ts": "typescript", ".json": "json", ".md": "markdown",
    ".rs": "rust", ".go": "go", ".c": "c", ".h": "c", ".cpp": "cpp", ".java": "java",
    ".sh": "sh", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".html": "html",
    ".css": "css", ".sql": "sql", ".rb": "ruby", ".kt": "kotlin", ".swift": "swift",
}  # fmt: skip


def fence_for(text: str) -> str:
    """A backtick fence longer than any run of backticks in `text`, so the file cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def text_file(name: str, data: bytes) -> TextFile:
    """A text file from its bytes: UTF-8 (a BOM allowed) without NUL characters; anything else
    is a binary file we cannot send (`AttachmentRefused`)."""
    if len(data) > MAX_TEXT_BYTES:
        raise too_large(name, len(data), MAX_TEXT_BYTES)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
    if (not text and data) or "\x00" in text:
        raise AttachmentRefused(
            f"{name} is neither an image (PNG, JPEG, GIF, WebP) nor a UTF-8 text file; "
            "only those can be attached.",
            "not UTF-8 text or an image",
        )
    return TextFile(name, text)


def read_attachment(path: Path) -> Attachment | TextFile:
    """The file at `path` as an image or a text file. Its size is checked before it is read,
    so a huge file costs nothing; `AttachmentRefused` says why a file cannot be attached."""
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise too_large(name, size)
        data = path.read_bytes()
    except OSError as exc:
        said = exc.strerror or str(exc)
        raise AttachmentRefused(f"{path} cannot be read: {said}.", _unreadable(exc, said)) from None
    return load_attachment(name, data)


def _unreadable(exc: OSError, said: str) -> str:
    """Why a file cannot be read, in a few words."""
    if isinstance(exc, IsADirectoryError):
        return "a directory"
    if isinstance(exc, FileNotFoundError):
        return "not found"
    if isinstance(exc, PermissionError):
        return "not allowed to read it"
    return f"cannot be read: {said[:1].lower()}{said[1:]}"


def load_attachment(name: str, data: bytes) -> Attachment | TextFile:
    """Bytes given by a file picker, a drop or a paste, as an image or a text file."""
    if len(data) > MAX_FILE_BYTES:
        raise too_large(name, len(data))
    if sniff_image(data) is not None:
        return image_attachment(name, data)
    return text_file(name, data)


def fits(image: Attachment, limits: ImageLimits) -> bool:
    small = len(image.data) <= limits.max_bytes
    return small and max(image.width, image.height) <= limits.long_edge


def fit_image(image: Attachment, api: str, scaler: ImageScaler | None) -> Attachment:
    """`image` as `api` is sent it: unchanged when within its limits, else downscaled."""
    limits = limits_for(api)
    if fits(image, limits):
        return image
    if scaler is None:
        raise AttachmentRefused(f"{image.name} is larger than this API takes and cannot be scaled.")
    return scaler.scale(image, limits)


class ImageFitter:
    """Makes the images a conversation stored fit the API each request goes to, with the scaler
    its caller has (made only when an image needs it). Scaled copies are kept per (content
    hash, API), the least recently used dropped past `max_bytes`, so a long chat continued on
    another API scales each image once rather than on every request.

    A `deferred` fitter scales nothing while a request is built: an image it has no copy of yet
    goes as it is and waits in `pending`, so the request is provisional; `scale_pending()`
    scales the waiting images on a worker thread (a window's loop stays free), and the request
    built again then is the one a fitter that scales at once would have built."""

    def __init__(
        self,
        make_scaler: Callable[[], ImageScaler] | None = None,
        max_bytes: int = FITTED_CACHE_BYTES,
        *,
        deferred: bool = False,
    ) -> None:
        self._make_scaler = make_scaler
        self._scaler: ImageScaler | None = None
        self._max_bytes = max_bytes
        self._deferred = deferred
        self._held = 0
        self._fitted: OrderedDict[tuple[str, str], Attachment | str] = OrderedDict()
        self._pending: dict[tuple[str, str], Attachment] = {}
        # the last scale_pending's copies, found even when the cache had to drop some of them
        self._settled: dict[tuple[str, str], Attachment | str] = {}

    @property
    def pending(self) -> bool:
        """Images wait to be scaled: a request built since carries them as stored, and must be
        built again after `scale_pending()`."""
        return bool(self._pending)

    def pending_for(self, api: str) -> frozenset[str]:
        """The content hashes of the images waiting to be scaled for `api`: a request to it
        waits for these alone, not for copies being made for another API."""
        return frozenset(digest for digest, to in self._pending if to == api)

    def fit(self, image: Attachment, api: str) -> Attachment:
        """`image` as `api` is sent it: itself when within its limits, else a scaled copy;
        `AttachmentRefused` when it cannot be scaled (said again from the cache next time). A
        deferred fitter without a copy yet returns `image` itself and marks it `pending`."""
        if fits(image, limits_for(api)):
            return image
        key = (image.digest, api)
        found = self._fitted.get(key)
        if found is not None:
            self._fitted.move_to_end(key)
        else:
            found = self._settled.get(key)
        if found is None:
            if self._deferred:
                self._pending[key] = image
                return image
            found = _fitted_or_refusal(image, api, self._scaler_now())
            self._keep(key, found)
        if isinstance(found, str):
            raise AttachmentRefused(found)
        return found if found.name == image.name else dataclasses.replace(found, name=image.name)

    async def scale_pending(self, api: str | None = None) -> None:
        """Scale the images waiting in `pending` (only those for `api`, when given) on a worker
        thread and keep the copies (and refusals), so every request built next finds them."""
        waiting = {key: image for key, image in self._pending.items() if api in (None, key[1])}
        if not waiting:
            return
        scaler = self._scaler_now()
        scaled = await asyncio.to_thread(_fit_each, waiting, scaler)
        for key, fitted in scaled.items():
            self._pending.pop(key, None)  # another scale_pending may have taken it meanwhile
            if key not in self._fitted:
                self._keep(key, fitted)
        if api is None:
            self._settled = scaled
        else:  # another API's copies settled before stay found
            self._settled = {k: v for k, v in self._settled.items() if k[1] != api} | scaled

    def forget_refusals(self, digest: str) -> None:
        """Forget why the image with this content hash could not be scaled (it was removed):
        attached again, it is tried again."""
        for kept in (self._fitted, self._settled):
            for key in [k for k, v in kept.items() if k[0] == digest and isinstance(v, str)]:
                del kept[key]

    def _scaler_now(self) -> ImageScaler | None:
        if self._scaler is None and self._make_scaler is not None:
            self._scaler = self._make_scaler()
        return self._scaler

    def _keep(self, key: tuple[str, str], fitted: Attachment | str) -> None:
        self._fitted[key] = fitted
        self._held += _held_bytes(fitted)
        while self._held > self._max_bytes and len(self._fitted) > 1:
            _, dropped = self._fitted.popitem(last=False)
            self._held -= _held_bytes(dropped)


async def once_scaled(fitter: ImageFitter | None, build: Callable[[], _T], built: _T) -> _T:
    """`built` (made by `build`), or `build()` again once the images `fitter` deferred meanwhile
    are scaled off the loop: what is returned carries no image still waiting to be scaled."""
    while fitter is not None and fitter.pending:
        await fitter.scale_pending()
        built = build()
    return built


def _fit_each(
    waiting: dict[tuple[str, str], Attachment], scaler: ImageScaler | None
) -> dict[tuple[str, str], Attachment | str]:
    """Each waiting image (keyed by content hash and API) fitted to its API, or its refusal."""
    return {key: _fitted_or_refusal(image, key[1], scaler) for key, image in waiting.items()}


def _fitted_or_refusal(image: Attachment, api: str, scaler: ImageScaler | None) -> Attachment | str:
    """`fit_image`'s copy, or the reason it refused (kept and said again like a copy)."""
    try:
        return fit_image(image, api, scaler)
    except AttachmentRefused as exc:
        return str(exc)


def _held_bytes(fitted: Attachment | str) -> int:
    return len(fitted.data) if isinstance(fitted, Attachment) else 0


def images_left_out(count: int, why: str) -> str:
    """The one line said when `count` stored images stay out of a request, and why."""
    images = "1 image" if count == 1 else f"{count} images"
    return f"{images} of this chat left out of the request ({why.rstrip('.')}); the text was sent."


def no_vision(model: str) -> str:
    """What to tell the user who sends images to a model that reads none."""
    return (
        f"{model} cannot read images, so nothing was sent. "
        "Choose a model with vision (such as gpt-4.1) or remove the images."
    )


def images_to_send(
    images: Sequence[Attachment],
    provider: Provider,
    model: str,
    make_scaler: Callable[[], ImageScaler],
) -> tuple[Attachment, ...]:
    """`images` as `model` on `provider` is sent them: refused (`AttachmentRefused`) when the
    model reads no images, downscaled where larger than its API takes. The scaler is made only
    when one is needed (it loads an image library)."""
    if not images:
        return ()
    if not provider.reads_images(model):
        raise AttachmentRefused(no_vision(model))
    if all(fits(image, limits_for(provider.api)) for image in images):
        return tuple(images)
    scaler = make_scaler()
    return tuple(fit_image(image, provider.api, scaler) for image in images)


def with_files(prompt: str, files: Sequence[TextFile]) -> str:
    """The prompt followed by each text file as a fenced block named by the file."""
    return "\n\n".join([prompt, *(f.block() for f in files)]) if files else prompt


def describe(images: Sequence[Attachment]) -> str:
    """ "1 image, 64×64 PNG" / "2 images: 64×64 PNG, 800×600 JPEG"."""
    if len(images) == 1:
        return f"1 image, {images[0].label}"
    return f"{len(images)} images: " + ", ".join(i.label for i in images)


def scaled_size(width: int, height: int, long_edge: int) -> tuple[int, int]:
    """The size of `width`×`height` with its longer edge at most `long_edge`, aspect kept."""
    longest = max(width, height)
    if longest <= long_edge:
        return width, height
    return max(1, round(width * long_edge / longest)), max(1, round(height * long_edge / longest))
