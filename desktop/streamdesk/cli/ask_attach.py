"""`ask --attach FILE`: images sent as image parts, text and code files inlined in the prompt.

Every file is checked before anything is sent: its size (before it is read), its type (from
its bytes), and, for images, whether the model reads images at all. Images larger than the
API takes are downscaled with Qt's QImage, imported only then (the CLI otherwise loads no Qt);
so are the stored images of a conversation continued on another API (`image_fitter`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from streamdesk.core.attachments import (
    Attachment,
    ImageFitter,
    ImageScaler,
    TextFile,
    images_to_send,
    read_attachment,
    with_files,
)
from streamdesk.core.chat import Target

EXIT_ATTACHMENT = 25  # an --attach file cannot be sent: too large, not an image or text, unread


def add_attach_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--attach",
        action="append",
        default=[],
        metavar="FILE",
        help="send a file with the prompt (repeatable): a PNG, JPEG, GIF or WebP image, or a"
        " text/code file inlined as a fenced block",
    )


@dataclass(frozen=True, slots=True)
class Attached:
    """The files of one ask: images to send as parts, text files to inline."""

    images: tuple[Attachment, ...] = ()
    files: tuple[TextFile, ...] = ()

    @classmethod
    def read(cls, paths: Sequence[str]) -> Attached:
        """Read and check every file; `AttachmentRefused` names the first that cannot go."""
        images: list[Attachment] = []
        files: list[TextFile] = []
        for path in paths:
            item = read_attachment(Path(path))
            if isinstance(item, Attachment):
                images.append(item)
            else:
                files.append(item)
        return cls(tuple(images), tuple(files))

    def prompt(self, prompt: str) -> str:
        return with_files(prompt, self.files)

    def images_for(self, target: Target) -> tuple[Attachment, ...]:
        """The images as `target` is sent them: refused when its model reads no images,
        downscaled where they are larger than its API takes."""
        return images_to_send(self.images, target.provider, target.model, _qt_scaler)


def image_fitter() -> ImageFitter:
    """What makes a continued conversation's stored images fit the API it goes to now; Qt is
    loaded only when one has to be scaled."""
    return ImageFitter(_qt_scaler)


def _qt_scaler() -> ImageScaler:
    from streamdesk.ui.image_scaler import QtImageScaler

    return QtImageScaler()
