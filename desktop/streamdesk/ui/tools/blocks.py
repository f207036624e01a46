"""A tool call drawn in the transcript: one frame per call with a header line (tool, server,
status, duration, a Details link) and, opened, the arguments as indented JSON and the result
or error as plain monospaced text.

Everything a model or a tool wrote goes in with `insertText` (never Markdown, never HTML), cut
to a length the layout handles and with very long runs broken, as model output is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import (
    QColor,
    QFont,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
    QTextFrame,
    QTextFrameFormat,
)

from streamdesk.ui.tools.state import AWAITING, RUNNING, STREAMING, CallState, outcome_words
from streamdesk.ui.transcript.safe_document import break_long_runs

SHOWN_CHARS = 4000  # of arguments or a result drawn in a block (the rest: "… n more")
PREVIEW_CHARS = 90  # of the one-line summary under a closed block
TOOL_BLOCK = QTextFormat.Property.UserProperty + 10  # a call's frame: its block number
RESERVED = QTextFormat.Property.UserProperty + 11  # the block the approval bar covers
RESULT_LABELS = {"ok": ("Result", "text"), "denied": ("Note", "muted")}
STATE_COLOURS = {"error": "error", "timeout": "error", AWAITING: "highlight"}
ICONS = {"ok": "✓", "error": "✕", "denied": "⊘", "timeout": "⏱", "cancelled": "■"}


@dataclass(frozen=True, slots=True)
class ToolBlockStyle:
    """What the transcript's layout lends a block: its colours, sizes and link maker."""

    colors: dict[str, str]
    point_size: float
    em: float
    mono_family: str
    href: Callable[[int], str]  # block number -> its Details link
    caption_scale: float = 0.85
    mono_scale: float = 0.9


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """Untrusted text cut to `limit` characters and safe to lay out."""
    cut = len(text) - limit
    text = text[:limit] + (f"\n… {cut} more characters" if cut > 0 else "")
    text = "".join(c if c.isprintable() or c in "\n\t" else "\ufffd" for c in text)
    return break_long_runs(text)


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


class ToolBlockPainter:
    """Draws calls with one style (one per theme and font size)."""

    def __init__(self, style: ToolBlockStyle) -> None:
        self.style = style

    def _char(
        self,
        colour: str = "text",
        *,
        small: bool = False,
        mono: bool = False,
        bold: bool = False,
        href: str = "",
    ) -> QTextCharFormat:
        s = self.style
        f = QTextCharFormat()
        f.setForeground(QColor(s.colors[colour]))
        if small:
            f.setFontPointSize(s.point_size * s.caption_scale)
        if mono:
            f.setFontFamilies([s.mono_family])
            f.setFontFixedPitch(True)
            f.setFontPointSize(s.point_size * s.mono_scale * (s.caption_scale if small else 1))
        if bold:
            f.setFontWeight(QFont.Weight.DemiBold)
        if href:
            f.setAnchor(True)
            f.setAnchorHref(href)
            f.setForeground(QColor(s.colors["highlight"]))
        return f

    def _block(self, below: float = 0.0, above: float = 0.0) -> QTextBlockFormat:
        bf = QTextBlockFormat()
        bf.setLineHeight(125, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        bf.setTopMargin(above * self.style.em)
        bf.setBottomMargin(below * self.style.em)
        bf.setNonBreakableLines(False)
        return bf

    def frame_format(self, call: CallState) -> QTextFrameFormat:
        c = self.style.colors
        ff = QTextFrameFormat()
        ff.setProperty(TOOL_BLOCK, call.number)
        ff.setBackground(QColor(c["code_bg"]))
        ff.setBorder(1)
        colour = c["highlight"] if call.state == AWAITING else c["code_border"]
        if call.state in ("error", "timeout"):
            colour = c["error"]
        ff.setBorderBrush(QColor(colour))
        ff.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
        ff.setPadding(10)
        ff.setTopMargin(0.3 * self.style.em)
        ff.setBottomMargin(0.75 * self.style.em)
        return ff

    def draw_contents(
        self, c: QTextCursor, call: CallState, reserve: int = 0
    ) -> QTextCursor | None:
        """The inside of a call's frame at `c` (its first, empty block). With `reserve` px and
        a call awaiting approval, an empty block of that height follows its arguments; the
        cursor returned sits in it (the approval bar is laid over it)."""
        c.setBlockFormat(self._block())
        icon = ICONS.get(call.state, "⚙")
        state_colour = STATE_COLOURS.get(call.state, "muted")
        c.insertText(f"{icon}  ", self._char(state_colour))
        c.insertText(shown(call.name or "tool", 200), self._char(mono=True, bold=True))
        if call.server:
            c.insertText(f"  on {shown(call.server, 100)}", self._char("muted", small=True))
        c.insertText("   ·   ", self._char("faint", small=True))
        c.insertText(outcome_words(call), self._char(state_colour, small=True))
        open_ = call.expanded or call.state in (STREAMING, AWAITING, RUNNING)
        if call.number >= 0 and call.state not in (STREAMING, AWAITING):
            c.insertText("   ", self._char("faint", small=True))
            word = "Hide details" if open_ else "Details"
            c.insertText(word, self._char(small=True, href=self.style.href(call.number)))
        if not open_:
            summary = _preview(call.one_line_arguments())
            if call.result:
                summary += f"  →  {_preview(call.result)}"
            c.insertBlock(self._block(), self._char("muted", small=True, mono=True))
            c.insertText(shown(summary, 400), self._char("muted", small=True, mono=True))
            return None
        self._section(c, "Arguments", call.pretty_arguments() or "{}")
        if call.error:
            self._section(c, "Error", call.error, colour="error")
        reserved: QTextCursor | None = None
        if call.state == AWAITING and reserve > 0:
            bf = self._block(above=0.4)
            bf.setLineHeight(reserve, QTextBlockFormat.LineHeightTypes.FixedHeight.value)
            bf.setProperty(RESERVED, True)
            c.insertBlock(bf, QTextCharFormat())
            reserved = QTextCursor(c)
        if call.result and call.state not in (STREAMING, AWAITING, RUNNING):
            label, colour = RESULT_LABELS.get(call.state, ("Error", "error"))
            self._section(c, label, call.result, colour=colour)
        return reserved

    def _section(self, c: QTextCursor, label: str, text: str, colour: str = "text") -> None:
        c.insertBlock(self._block(above=0.35), self._char("muted", small=True))
        c.insertText(label, self._char("muted", small=True, bold=True))
        c.insertBlock(self._block(), self._char(colour, mono=True))
        c.insertText(shown(text.rstrip("\n")), self._char(colour, mono=True))

    def insert(
        self, c: QTextCursor, call: CallState, reserve: int = 0
    ) -> tuple[QTextFrame, QTextCursor | None]:
        """A call's frame at `c`, drawn; returns it and the reserved approval cursor."""
        frame = c.insertFrame(self.frame_format(call))
        inside = frame.firstCursorPosition()
        reserved = self.draw_contents(inside, call, reserve)
        return frame, reserved

    def redraw(self, frame: QTextFrame, call: CallState, reserve: int = 0) -> QTextCursor | None:
        """Draw a call's frame again in place (opened, closed, or its state changed)."""
        frame.setFrameFormat(self.frame_format(call))
        c = frame.firstCursorPosition()
        c.setPosition(frame.lastPosition(), QTextCursor.MoveMode.KeepAnchor)
        c.removeSelectedText()
        return self.draw_contents(c, call, reserve)
