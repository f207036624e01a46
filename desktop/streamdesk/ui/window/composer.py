"""The composer under the transcript: the prompt box with its Send and Stop buttons."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from streamdesk.ui.window.prompt_box import PromptBox


class Composer(QFrame):
    """`prompt` emits what is sent and Esc; Send submits the prompt, Stop emits
    `prompt.stopRequested` too. `set_busy` swaps which of the two buttons is enabled."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.prompt = PromptBox(self)
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.clicked.connect(self.prompt.submit)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("Stop the reply (Esc); what arrived is kept")
        self.stop_button.clicked.connect(self.prompt.stopRequested)
        self.stop_button.setEnabled(False)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 12, 8)
        row.addWidget(self.prompt, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        row.addLayout(buttons)

    def set_busy(self, busy: bool) -> None:
        """While a reply streams, Stop is enabled and Send is not."""
        self.stop_button.setEnabled(busy)
        self.send_button.setEnabled(not busy)
