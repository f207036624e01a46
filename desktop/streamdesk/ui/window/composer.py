"""The composer under the transcript: the prompt box with round Send and Stop buttons; the box
is as wide as the transcript's reading column and centred under it, its left edge on the
column's. Flat Attach and Tools buttons sit in a row under the box. While a sent prompt is being
edited, a bar above the box says so and offers Cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from streamdesk.ui.window.prompt_box import PromptBox

if TYPE_CHECKING:
    from streamdesk.ui.settings.controller import Banner
    from streamdesk.ui.window.attachment_tray import AttachmentTray

BUTTON_SIZE = 32
BUTTON_ROOM = BUTTON_SIZE + 8  # px beside the box: the buttons, and as much on the other side
EXTRA_SIZE = 28  # px of the flat buttons under the box (attach, tools)


class Composer(QFrame):
    """`prompt` emits what is sent and Esc; Send submits the prompt, Stop emits
    `prompt.stopRequested` too, the edit bar's Cancel `prompt.editCancelled`. `set_busy` swaps
    which of the two buttons is enabled. Files picked with the attach button, dropped or pasted
    wait in `attachments` for the next prompt (`attachmentsChanged` when one comes or goes);
    `attachmentRefused(reason)` says why some cannot (`refusals_shown_in` keeps what the
    window's banner says of them true)."""

    attachmentRefused = Signal(str)
    attachmentsChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.prompt = PromptBox(self)
        # Glyphs until the icon set loads after the first paint (`add_icons`); same size.
        self.send_button = self._round_button("sendButton", "↑", "Send (Enter)", "Send")
        self.send_button.clicked.connect(self.prompt.submit)
        self.stop_button = self._round_button(
            "stopButton", "■", "Stop the reply (Esc); what arrived is kept", "Stop"
        )
        self.stop_button.clicked.connect(self.prompt.stopRequested)
        self.stop_button.setEnabled(False)
        self.stop_button.hide()
        self.edit_bar = self._edit_bar()
        self.prompt.editingChanged.connect(self.edit_bar.setVisible)
        self.column = QWidget(self)
        self.set_column(720)
        rows = QVBoxLayout(self.column)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        row = QHBoxLayout()
        row.setContentsMargins(BUTTON_ROOM, 0, 0, 0)
        row.setSpacing(8)
        rows.addLayout(row)
        self._extras = QHBoxLayout()  # the flat buttons under the box, from its left edge
        self._extras.setContentsMargins(BUTTON_ROOM, 0, BUTTON_ROOM, 0)
        self._extras.setSpacing(2)
        self._extras.addStretch(1)
        rows.addLayout(self._extras)
        self._box = box = QVBoxLayout()
        box.setSpacing(4)
        box.addWidget(self.edit_bar)
        box.addWidget(self.prompt)
        row.addLayout(box, 1)
        self.attachments: AttachmentTray | None = None  # made after the first paint
        self._banner: Banner | None = None  # where the window says the refusals
        buttons = QVBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.setContentsMargins(0, 0, 0, 4)
        row.addLayout(buttons)
        centre = QHBoxLayout(self)
        centre.setContentsMargins(16, 8, 16, 12)
        centre.addStretch(1)
        centre.addWidget(self.column, 100)
        centre.addStretch(1)

    def add_tools_button(self, button: QToolButton) -> None:
        """A flat button in the row under the prompt box (the chat's tools), after Attach."""
        self._add_extra(button, self._extras.count() - 1)  # the stretch stays last

    def _add_extra(self, button: QToolButton, index: int) -> None:
        """`button` flat, like every button in the row under the box, at `index` in it."""
        button.setFixedHeight(EXTRA_SIZE)
        button.setMinimumWidth(EXTRA_SIZE)
        button.setAutoRaise(True)
        button.setIconSize(QSize(18, 18))
        self._extras.insertWidget(index, button)

    def set_column(self, width: int) -> None:
        """The prompt box `width` px wide at most, centred (the transcript's column)."""
        self.column.setMaximumWidth(width + 2 * BUTTON_ROOM)

    def _edit_bar(self) -> QFrame:
        """The edit bar ("Editing your message · Cancel (Esc)"), shown while editing a prompt."""
        bar = QFrame(self)
        bar.setObjectName("editBar")
        label = QLabel("Editing your message", bar)
        label.setObjectName("editLabel")
        dot = QLabel("·", bar)
        dot.setObjectName("editLabel")
        self.cancel_edit_button = cancel = QToolButton(bar)
        cancel.setObjectName("editCancel")
        cancel.setText("Cancel (Esc)")
        cancel.setToolTip("Leave the message as it was and bring back what you were typing")
        cancel.clicked.connect(self.prompt.editCancelled)
        line = QHBoxLayout(bar)
        line.setContentsMargins(10, 3, 6, 3)
        line.setSpacing(4)
        line.addWidget(label)
        line.addWidget(dot)
        line.addWidget(cancel)
        line.addStretch(1)
        bar.hide()
        return bar

    def _round_button(self, name: str, glyph: str, tip: str, label: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(name)
        button.setText(glyph)
        button.setToolTip(tip)
        button.setAccessibleName(label)  # screen readers: the glyph or icon says nothing
        button.setFixedSize(BUTTON_SIZE, BUTTON_SIZE)
        button.setIconSize(QSize(18, 18))
        return button

    def add_icons(self) -> None:
        """The icon set, and the edit bar's hand cursor, after the first paint (the cursor's
        enum loads all of QtCore.Qt, which nothing in the first frame needs)."""
        from PySide6.QtCore import Qt

        from streamdesk.ui.window.icons import bind

        self.cancel_edit_button.setCursor(Qt.CursorShape.PointingHandCursor)

        bind(self.send_button.setIcon, "mdi6.arrow-up", role="on-accent")
        bind(self.stop_button.setIcon, "mdi6.stop", role="on-accent")
        self._add_attachments()

    def _add_attachments(self) -> None:
        """The attach button under the prompt box and the tray of chips above it; files
        dropped or pasted onto the box go to the tray too."""
        from PySide6.QtCore import Qt

        from streamdesk.ui.window.attachment_tray import AttachmentTray
        from streamdesk.ui.window.icons import bind

        self.attachments = tray = AttachmentTray(self)
        self._box.insertWidget(1, tray)  # under the edit bar, over the prompt box
        self.attach_button = button = QToolButton(self)
        button.setObjectName("attachButton")
        button.setToolTip("Attach images or text files (or drop or paste them on the prompt)")
        button.setAccessibleName("Attach files")
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        bind(button.setIcon, "mdi6.paperclip")
        button.clicked.connect(self.pick_files)
        self._add_extra(button, 0)
        self.prompt.filesDropped.connect(self.attach_paths)
        self.prompt.imagePasted.connect(tray.add_image)
        tray.refused.connect(self.attachmentRefused)
        tray.changed.connect(self.attachmentsChanged)
        if self._banner is not None:
            self.refusals_shown_in(self._banner)

    def refusals_shown_in(self, banner: Banner) -> None:
        """The window says the refusals in `banner`: one that no longer holds (its file
        removed, the prompt sent) leaves it, and a list of them gives it a tooltip."""
        from streamdesk.ui.window.refusal_notice import RefusalNotice

        self._banner = banner
        if self.attachments is not None:
            RefusalNotice(self.attachments, banner)

    def attach_paths(self, paths: list[str]) -> None:
        """Attach the files at `paths` (picked or dropped together: refusals said together)."""
        if self.attachments is not None:
            self.attachments.add_paths(paths)

    def pick_files(self) -> None:
        """The file picker, opened without a nested event loop (the chat keeps streaming)."""
        from PySide6.QtWidgets import QFileDialog

        dialog = QFileDialog(self, "Attach files")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilters(
            ["Images and text (*.png *.jpg *.jpeg *.gif *.webp *.txt *.md *.py *.json *.csv)",
             "All files (*)"]
        )  # fmt: skip
        dialog.filesSelected.connect(self.attach_paths)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def set_busy(self, busy: bool) -> None:
        """While a reply streams, Stop takes Send's place."""
        self.stop_button.setEnabled(busy)
        self.send_button.setEnabled(not busy)
        self.stop_button.setVisible(busy)
        self.send_button.setVisible(not busy)
