"""The record of one message in the transcript: what it shows and where its regions are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtGui import QTextFrame

from streamdesk.core.attachments import Attachment

if TYPE_CHECKING:
    from streamdesk.ui.tools.state import RoundState
    from streamdesk.ui.transcript.reply_view import ReplyView


@dataclass(eq=False)
class Message:
    """What the document shows for one message, and where.

    `frame` is the header bar; the regions after it (reasoning, body, notice) are lengths from
    the frame's end, so edits elsewhere in the document never invalidate them; `frame` is None
    whenever the document does not hold it (cleared, or being drawn again). `live` is the
    handle of a reply that is still streaming (None once it finished, and for stored messages).
    Compared by identity: the layout finds a message in its list by `is`, never field by field.
    """

    id: int
    key: object
    role: str
    label: str = ""
    text: str = ""
    reasoning: str = ""
    status: str = "complete"
    failure_title: str = ""
    failure_text: str = ""
    actions: tuple[str, ...] = ()
    frame: QTextFrame | None = None
    reasoning_len: int = 0
    body_len: int = 0
    notice_len: int = 0
    collapsed: bool = False
    open_code: int = 0  # an open fence: where its code grows, counted back from the live end
    held_newline: bool = False  # the open fence's last newline, shown with the next line
    live: ReplyView | None = None
    tool_rounds: list[RoundState] = field(default_factory=list)  # a stored reply's, by `at`
    images: tuple[Attachment, ...] = ()  # a prompt's, shown as thumbnails under its text

    @property
    def shown_text(self) -> str:
        """The text received so far (a live reply's) or stored."""
        return self.live.text if self.live is not None else self.text

    @property
    def streaming(self) -> bool:
        return self.live is not None and not self.live.finished
