"""The attachment tray's refusals in the window's banner, kept true after they are said.

The window says a refusal in its banner (the composer's `attachmentRefused`, or Enter's). The
banner is shared: other messages (a key that failed, a corrupt settings file) take it too. So
the notice changes it only while it shows what the tray said: a refusal that no longer holds
(its file removed, the prompt sent) leaves the banner, and the whole list of refused files is
the banner's tooltip only while the banner shows that list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QToolTip

from streamdesk.ui.plain_text import plain_tooltip

if TYPE_CHECKING:
    from streamdesk.ui.settings.controller import Banner
    from streamdesk.ui.window.attachment_tray import AttachmentTray


class RefusalNotice(QObject):
    """Takes `tray`'s refusals off `banner` as they go, and gives their list as its tooltip."""

    def __init__(self, tray: AttachmentTray, banner: Banner) -> None:
        super().__init__(tray)
        self._tray = tray
        self._banner = banner
        tray.withdrawn.connect(self._take_back)
        banner.label.installEventFilter(self)

    def _take_back(self) -> None:
        """What the banner says of the tray's refusals is what still holds, or nothing."""
        banner = self._banner
        if banner.isHidden() or not self._tray.said(banner.label.text()):
            return  # dismissed, or showing another message since
        text, _details = self._tray.notice()
        if text:
            banner.show_message(text)
        else:
            banner.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The banner's tooltip: every refused file's reason, while it shows their list."""
        if event.type() != QEvent.Type.ToolTip or not isinstance(event, QHelpEvent):
            return False
        text, details = self._tray.notice()
        if not details or self._banner.label.text() != text:
            return False
        QToolTip.showText(event.globalPos(), plain_tooltip(details), self._banner.label)
        return True
