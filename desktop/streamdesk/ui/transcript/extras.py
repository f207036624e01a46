"""A reply's extras in the transcript document: the reasoning toggle, the notice line and the
failure box (split out of transcript_doc.py; `DocumentBuilder` inherits `ReplyExtras`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor, QTextFrameFormat

from streamdesk.ui.transcript.highlight import palette
from streamdesk.ui.transcript.reply_view import _Msg
from streamdesk.ui.transcript.safe_document import SafeDocument


class ReplyExtras:
    """Reasoning, notice and failure regions of a message; the rest is `DocumentBuilder`'s."""

    _doc: SafeDocument
    _dark: bool

    if TYPE_CHECKING:  # the region helpers are DocumentBuilder's

        def __getattr__(self, name: str) -> Any: ...

    def _append_reasoning(self, m: _Msg, text: str) -> None:
        """Reasoning under a toggle link, dimmed: shown whole as Markdown, then streamed
        appends as plain text (O(new text)); `_refresh_reasoning` renders it all at the end."""
        assert m.frame is not None
        start = self._base(m)
        if m.rsn_len and (m.collapsed or not text):
            return
        if m.rsn_len:
            m.rsn_len += self._edit(start + m.rsn_len, lambda c: c.insertText(text, self._dim()))
            return

        def put(c: QTextCursor) -> None:
            arrow = "▸" if m.collapsed else "▾"
            self._new_block(c)
            c.insertText(f"{arrow} Reasoning", self._fmt(href=self._href("toggle", m=m.id)))
            if not m.collapsed:
                at = c.position()
                self._put_markdown(c, m.reasoning)
                dim = QTextCursor(self._doc)  # over the Markdown just inserted
                dim.setPosition(at)
                dim.setPosition(c.position(), QTextCursor.MoveMode.KeepAnchor)
                dim.mergeCharFormat(self._dim())

        m.rsn_len = self._edit(start, put)
        self._indent(start, start + m.rsn_len)

    def _dim(self) -> QTextCharFormat:
        return self._fmt(dim=True)

    def _toggle_reasoning(self, m: _Msg) -> None:
        if m.frame is None or not m.rsn_len:
            return
        with self._batch():
            self._swap_reasoning(m)

    def _swap_reasoning(self, m: _Msg) -> None:
        m.collapsed = not m.collapsed
        self._refresh_reasoning(m)

    def _refresh_reasoning(self, m: _Msg) -> None:
        """Render the whole reasoning again (as Markdown, or just the toggle when collapsed)."""
        if m.frame is None or not m.rsn_len:
            return
        start = self._base(m)
        self._remove(start, start + m.rsn_len)
        m.rsn_len = 0
        self._append_reasoning(m, "")

    def _set_notice(self, m: _Msg, text: str) -> None:
        if m.frame is None:
            return
        end = self._end(m)
        self._remove(end - m.notice_len, end)
        m.notice_len = 0
        if text:
            dim = self._dim()
            m.notice_len = self._edit(self._end(m), lambda c: self._put_text(c, text, dim))
            self._indent(self._end(m) - m.notice_len, self._end(m))

    def _add_failure(self, m: _Msg) -> None:
        """A marked box under the kept partial text: title, one sentence, actions, then any
        technical detail (the library's wording) dimmed and smaller on its own line."""
        if (m.status == "complete" and not m.failure_title) or m.frame is None:
            return
        title = m.failure_title or {"stopped": "Stopped"}.get(m.status, "Failed")
        ff = QTextFrameFormat()
        ff.setBorder(1)
        ff.setPadding(6)
        ff.setTopMargin(6)
        warn = m.status in ("error", "partial")
        ff.setBorderBrush(QColor("#cf222e" if warn else palette(self._dark)["dim"]))
        c = QTextCursor(self._doc)
        c.setPosition(self._end(m))
        c.insertFrame(ff)
        c.insertText(title, self._fmt(bold=True))
        sentence, detail = split_detail(m.failure_text)
        if sentence:
            plain = QTextCharFormat()
            plain.setToolTip(m.failure_text)
            c.insertText(f": {sentence}", plain)
        for action in m.actions:
            verb = action.strip().lower()
            if verb in ("retry", "continue"):
                c.insertText("   ", QTextCharFormat())
                c.insertText(verb.capitalize(), self._fmt(href=self._href(verb, m=m.id)))
        if detail:
            small = self._dim()
            small.setFontPointSize(max(6.0, self._doc.defaultFont().pointSizeF() * 0.85))
            small.setToolTip(m.failure_text)
            self._put_text(c, f"Details: {detail}", small)


_PAREN = re.compile(r"\s*\(((?:[^()]|\([^()]*\))*)\)")
DETAIL_MIN = 40  # a parenthesis this long is a library's wording, not part of the sentence


def split_detail(text: str) -> tuple[str, str]:
    """Split a failure message into its sentence and the technical detail in long parentheses.

    "… broke during the reply (peer closed connection … (incomplete chunked read)); …" gives
    the sentence without the parenthesis and the parenthesis's text as the detail.
    """
    details: list[str] = []

    def cut(match: re.Match[str]) -> str:
        if len(match.group(1)) < DETAIL_MIN:
            return match.group(0)
        details.append(match.group(1).strip())
        return ""

    return _PAREN.sub(cut, text).strip(), "; ".join(details)
