"""The welcome page an empty chat shows in place of its blank transcript.

One line on what Streamdesk is, what answers (the offline demo, which needs no key, or the
chosen provider), a few example prompts that send when clicked, and "Add a provider". The window
shows it while the current chat has no message and hides it at the first send.
"""

from __future__ import annotations

from PySide6 import QtCore
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

EXAMPLES: tuple[tuple[str, str, str], ...] = (
    # (icon, card title, the prompt it sends)
    (
        "mdi6.lightning-bolt",
        "Streaming without freezing",
        "How do I stream a chat completion without freezing the UI?",
    ),
    (
        "mdi6.swap-horizontal",
        "SSE or WebSocket?",
        "Compare SSE and WebSocket for streaming LLM replies.",
    ),
    (
        "mdi6.language-python",
        "A Python question",
        "How do I read a streaming HTTP response line by line with httpx in Python?",
    ),
    (
        "mdi6.feather",
        "A short poem",
        "Write a short poem about packets crossing the sea.",
    ),
)

ABOUT = (
    "A desktop chat client for language-model APIs: replies stream in over SSE or WebSocket, "
    "and every request can be inspected on the wire."
)
DEMO_TITLE = "Offline demo — no key needed"
DEMO_TEXT = (
    "Replies come from a mock server built into Streamdesk: they stream like a real model's, "
    "nothing leaves this computer and nothing is billed."
)


class PromptCard(QPushButton):
    """A clickable example: an icon, a title and the prompt it sends (Enter or Space too)."""

    def __init__(self, icon_name: str, title: str, prompt: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("promptCard")
        self.prompt = prompt
        self.setToolTip(f"Send: {prompt}")
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        heading = QLabel(title, self)
        heading.setObjectName("cardTitle")
        text = QLabel(prompt, self)
        text.setObjectName("cardText")
        text.setWordWrap(True)
        self.mark = QLabel(self)
        self.mark.setFixedSize(18, 18)
        self.icon_name = icon_name
        for label in (heading, text, self.mark):
            label.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.mark)
        top.addWidget(heading, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 12, 14, 12)
        column.setSpacing(4)
        column.addLayout(top)
        column.addWidget(text)
        column.addStretch(1)  # top-aligned when a neighbour's text is longer
        self._column = column

    def set_mark(self, icon: QIcon) -> None:
        self.mark.setPixmap(icon.pixmap(QSize(18, 18)))

    def sizeHint(self) -> QSize:
        return self._column.sizeHint()

    def minimumSizeHint(self) -> QSize:
        return self._column.minimumSize()


class WelcomePage(QScrollArea):
    """Emits `promptChosen(prompt)` when a card is clicked and `addProviderRequested()`."""

    promptChosen = Signal(str)
    addProviderRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        page = QWidget(self)
        page.setObjectName("welcomePage")
        self.column = column = QWidget(page)
        column.setMaximumWidth(720)  # until `set_column`
        title = QLabel("Streamdesk", column)
        title.setObjectName("welcomeTitle")
        about = QLabel(ABOUT, column)
        about.setObjectName("welcomeAbout")
        about.setWordWrap(True)
        self.source_title = QLabel(column)
        self.source_title.setObjectName("welcomeSourceTitle")
        self.source_text = QLabel(column)
        self.source_text.setObjectName("welcomeSourceText")
        self.source_text.setWordWrap(True)
        source = QWidget(column)
        source.setObjectName("welcomeSource")
        source_box = QVBoxLayout(source)
        source_box.setContentsMargins(14, 10, 14, 10)
        source_box.setSpacing(2)
        source_box.addWidget(self.source_title)
        source_box.addWidget(self.source_text)
        try_label = QLabel("Try one of these", column)
        try_label.setObjectName("welcomeSection")
        self.cards = [PromptCard(*example, column) for example in EXAMPLES]
        grid = QGridLayout()
        grid.setSpacing(10)
        for n, card in enumerate(self.cards):
            grid.addWidget(card, n // 2, n % 2)
            card.clicked.connect(lambda _=False, p=card.prompt: self.promptChosen.emit(p))
        self.add_provider = QPushButton("Add a provider…", column)
        self.add_provider.setObjectName("welcomeLink")
        self.add_provider.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.add_provider.setToolTip(
            "Settings ▸ Providers: a key for OpenAI, Anthropic, … or a local server"
        )
        self.add_provider.clicked.connect(self.addProviderRequested)
        keys = QLabel("Ctrl+K  commands, chats and models  ·  Ctrl+N  new chat", column)
        keys.setObjectName("welcomeKeys")
        links = QHBoxLayout()
        links.addWidget(self.add_provider)
        links.addStretch(1)
        links.addWidget(keys)
        body = QVBoxLayout(column)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(title)
        body.addSpacing(6)
        body.addWidget(about)
        body.addSpacing(18)
        body.addWidget(source)
        body.addSpacing(22)
        body.addWidget(try_label)
        body.addSpacing(8)
        body.addLayout(grid)
        body.addSpacing(14)
        body.addLayout(links)
        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(column, 100)
        centre.addStretch(1)
        outer = QVBoxLayout(page)
        outer.setContentsMargins(24, 24, 24, 24)
        outer.addStretch(2)
        outer.addLayout(centre)
        outer.addStretch(3)
        self.setWidget(page)
        self.set_source(demo=True)

    def add_icons(self) -> None:
        """The icon set (drawn after the first paint)."""
        from streamdesk.ui.window.icons import bind

        for card in self.cards:
            bind(card.set_mark, card.icon_name, role="accent")
        bind(self.add_provider.setIcon, "mdi6.key-outline", role="accent")

    def set_column(self, width: int) -> None:
        """As wide as the transcript's reading column, `width` px."""
        self.column.setMaximumWidth(width)

    def set_source(
        self, *, demo: bool, provider: str = "", model: str = "", problem: str = ""
    ) -> None:
        """Say who answers: the offline demo (no key needed) or the chosen provider; `problem`
        says why that provider cannot answer yet (its key is missing)."""
        if demo:
            self.source_title.setText(DEMO_TITLE)
            self.source_text.setText(DEMO_TEXT)
            self.add_provider.setText("Add a provider…")
        elif problem:
            self.source_title.setText(f"{provider} needs a key")
            self.source_text.setText(f"{problem} Add it under Settings ▸ Providers.")
            self.add_provider.setText("Add the key…")
        else:
            self.source_title.setText(f"Talking to {provider}" + (f" · {model}" if model else ""))
            self.source_text.setText(
                "Switch provider or model in the header, or with the command palette (Ctrl+K)."
            )
            self.add_provider.setText("Providers and keys…")
