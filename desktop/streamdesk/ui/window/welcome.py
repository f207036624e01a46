"""The welcome page an empty chat shows in place of its blank transcript.

One line on what Streamdesk is, what answers (the offline demo, which needs no key, or the
chosen provider), the assistants to start the chat with (one is checked: the chat's), a few
example prompts that send when clicked, and "Add a provider". The window shows it while the
current chat has no message and hides it at the first send.

It never scrolls sideways: its text wraps, the cards' headings elide (their tooltips hold the
whole), and the cards and chips take as many columns as fit their headings (`reflow`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from PySide6 import QtCore
from PySide6.QtCore import QEvent, QSize, Signal
from PySide6.QtGui import QIcon, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from streamdesk.ui.plain_text import make_plain, plain_label, plain_tooltip

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


COMPACT_BELOW = 560  # px of page height below which the cards drop their text (a small window)
PAGE_MARGIN = 24  # px left and right of the column
GRID_SPACING = 8  # px between cards, and between chips
PROMPT_COLUMNS = 2  # the example cards' columns where their headings fit


class OneLineLabel(QLabel):
    """A label on one line that elides its text when narrower than it (the full text is in
    its card's tooltip)."""

    def __init__(self, text: str, parent: QWidget) -> None:
        super().__init__(text, parent)
        make_plain(self)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        room = self.contentsRect()
        shown = self.fontMetrics().elidedText(
            self.text(), QtCore.Qt.TextElideMode.ElideRight, room.width()
        )
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(room, int(self.alignment()), shown)


class Card(QPushButton):
    """A button drawn as a card: a heading row (elided when narrow), a line of text under it
    (wrapped, or on one elided line when `one_line`), sized by its content and top-aligned (a
    neighbour's longer text makes it taller, not centred)."""

    def __init__(
        self,
        title: str,
        text: str,
        parent: QWidget,
        *,
        names: tuple[str, str],
        roomy: bool,
        one_line: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.heading = heading = OneLineLabel(title, self)  # an assistant's name: anyone's
        heading.setObjectName(names[0])
        self.body = body = OneLineLabel(text, self) if one_line else plain_label(text, self)
        body.setObjectName(names[1])
        body.setWordWrap(not one_line)
        for label in (heading, body):
            label.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.top = QHBoxLayout()
        self.top.setSpacing(8)
        self.top.addWidget(heading, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(*((14, 10, 14, 10) if roomy else (12, 6, 12, 6)))
        column.setSpacing(3 if roomy else 1)
        column.addLayout(self.top)
        column.addWidget(body)
        column.addStretch(1)
        self._column = column

    def sizeHint(self) -> QSize:
        return self._column.sizeHint()

    def minimumSizeHint(self) -> QSize:
        return self._column.minimumSize()

    def heading_width(self) -> int:
        """Width in px that shows the whole heading row: what a column of cards needs."""
        self.ensurePolished()  # the heading's font is the style sheet's
        margins = self._column.contentsMargins()
        beside = self.top.sizeHint().width()  # the mark and spacing: the heading's is Ignored
        return beside + self.heading.sizeHint().width() + margins.left() + margins.right()

    def set_compact(self, compact: bool) -> None:
        """Only the heading (a short window): the text stays in the tooltip."""
        self.body.setVisible(not compact)


class PromptCard(Card):
    """A clickable example: an icon, a title and the prompt it sends (Enter or Space too)."""

    def __init__(self, icon_name: str, title: str, prompt: str, parent: QWidget) -> None:
        super().__init__(title, prompt, parent, names=("cardTitle", "cardText"), roomy=True)
        self.setObjectName("promptCard")
        self.prompt = prompt
        self.setToolTip(f"Send: {prompt}")
        self.mark = QLabel(self)
        self.mark.setFixedSize(18, 18)
        self.mark.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.icon_name = icon_name
        self.top.insertWidget(0, self.mark)

    def set_mark(self, icon: QIcon) -> None:
        self.mark.setPixmap(icon.pixmap(QSize(18, 18)))


ASSISTANT_COLUMNS = 3  # the chips' columns where their names fit
# The chips' look from the palette, so they follow the theme without a rule in chrome.py.
CHIP_STYLE = """
QPushButton#assistantChip { text-align: left; border: 1px solid palette(mid);
    border-radius: 10px; background: palette(base); }
QPushButton#assistantChip:hover, QPushButton#assistantChip:focus {
    border-color: palette(highlight); }
QPushButton#assistantChip:checked { border: 2px solid palette(highlight); }
QLabel#chipTitle { font-weight: 600; font-size: 13px; }
QLabel#chipText { font-size: 12px; color: palette(placeholder-text); }
"""


class AssistantChip(Card):
    """An assistant to start the chat with: its name and one line on what it does."""

    def __init__(self, name: str, description: str, parent: QWidget) -> None:
        super().__init__(
            name, description, parent, names=("chipTitle", "chipText"), roomy=False, one_line=True
        )
        self.setObjectName("assistantChip")
        self.name = name
        self.setCheckable(True)
        self.setToolTip(
            plain_tooltip(
                f"Start this chat with the {name} assistant"
                + (f": {description}" if description else "")
            )
        )
        self.setAccessibleName(f"Assistant {name}")


class WelcomePage(QScrollArea):
    """Emits `promptChosen(prompt)` when a card is clicked, `assistantChosen(name)` when an
    assistant chip is, and `addProviderRequested()`."""

    promptChosen = Signal(str)
    assistantChosen = Signal(str)
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
        self.source_title = plain_label(parent=column)  # the provider's and model's names
        self.source_title.setObjectName("welcomeSourceTitle")
        self.source_title.setWordWrap(True)
        self.source_text = plain_label(parent=column)
        self.source_text.setObjectName("welcomeSourceText")
        self.source_text.setWordWrap(True)
        source = QWidget(column)
        source.setObjectName("welcomeSource")
        source_box = QVBoxLayout(source)
        source_box.setContentsMargins(14, 10, 14, 10)
        source_box.setSpacing(2)
        source_box.addWidget(self.source_title)
        source_box.addWidget(self.source_text)
        assistant_label = QLabel("Start with an assistant", column)
        assistant_label.setObjectName("welcomeSection")
        self.assistant_box = QWidget(column)
        self.assistant_box.setStyleSheet(CHIP_STYLE)
        self.assistant_grid = QGridLayout(self.assistant_box)
        self.assistant_grid.setContentsMargins(0, 0, 0, 0)
        self.assistant_grid.setSpacing(GRID_SPACING)
        self.chips: list[AssistantChip] = []
        self._assistants: list[tuple[str, str]] = []  # (name, description) of the chips
        self.chip_group = QButtonGroup(self)
        self.chip_group.setExclusive(True)
        try_label = QLabel("Try one of these", column)
        try_label.setObjectName("welcomeSection")
        self.cards = [PromptCard(*example, column) for example in EXAMPLES]
        self.card_grid = QGridLayout()
        self.card_grid.setSpacing(GRID_SPACING)
        for card in self.cards:
            card.clicked.connect(lambda _=False, p=card.prompt: self.promptChosen.emit(p))
        self.add_provider = QPushButton("Add a provider…", column)
        self.add_provider.setObjectName("welcomeLink")
        self.add_provider.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.add_provider.setToolTip(
            "Settings ▸ Providers: a key for OpenAI, Anthropic, … or a local server"
        )
        self.add_provider.clicked.connect(self.addProviderRequested)
        self.keys = QLabel("Ctrl+K  commands, chats and models  ·  Ctrl+N  new chat", column)
        self.keys.setObjectName("welcomeKeys")
        self.keys.setWordWrap(True)
        self.links = QBoxLayout(QBoxLayout.Direction.LeftToRight)  # one under the other: narrow
        self.links.setSpacing(GRID_SPACING)
        self.links.addWidget(self.add_provider)
        self.links.addStretch(1)
        self.links.addWidget(self.keys)
        body = QVBoxLayout(column)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(title)
        body.addSpacing(6)
        body.addWidget(about)
        body.addSpacing(14)
        body.addWidget(source)
        body.addSpacing(16)
        body.addWidget(assistant_label)
        body.addSpacing(6)
        body.addWidget(self.assistant_box)
        body.addSpacing(16)
        body.addWidget(try_label)
        body.addSpacing(6)
        body.addLayout(self.card_grid)
        body.addSpacing(12)
        body.addLayout(self.links)
        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(column, 100)
        centre.addStretch(1)
        outer = QVBoxLayout(page)
        outer.setContentsMargins(PAGE_MARGIN, 16, PAGE_MARGIN, 16)
        outer.addStretch(2)
        outer.addLayout(centre)
        outer.addStretch(3)
        self._compact = False  # the cards show their headings only (`resizeEvent`)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(page)
        self.set_source(demo=True)
        self.reflow()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A short page (a small window) shows the cards' headings only."""
        self._compact = event.size().height() < COMPACT_BELOW
        for card in [*self.cards, *self.chips]:
            card.set_compact(self._compact)
        super().resizeEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.reflow()
        return super().viewportEvent(event)

    def column_room(self) -> int:
        """Width in px the column gets: the page's less its margins, at most the reading
        column."""
        return min(self.column.maximumWidth(), self.viewport().width() - 2 * PAGE_MARGIN)

    def reflow(self) -> None:
        """As many columns of cards and of chips as fit their headings whole (down to one), and
        the shortcuts under "Add a provider" when they do not fit beside it."""
        room = self.column_room()
        place(self.card_grid, self.cards, fitting_columns(self.cards, room, PROMPT_COLUMNS))
        place(self.assistant_grid, self.chips, fitting_columns(self.chips, room, ASSISTANT_COLUMNS))
        self.keys.ensurePolished()  # its font is the style sheet's
        beside = (
            self.add_provider.sizeHint().width()
            + GRID_SPACING
            + self.keys.fontMetrics().horizontalAdvance(self.keys.text())
        ) <= room
        direction = QBoxLayout.Direction
        self.links.setDirection(direction.LeftToRight if beside else direction.TopToBottom)
        self.keys.setWordWrap(not beside)  # on one line beside the link; wrapped under it

    def add_icons(self) -> None:
        """The icon set (drawn after the first paint)."""
        from streamdesk.ui.window.icons import bind

        for card in self.cards:
            bind(card.set_mark, card.icon_name, role="accent")
        bind(self.add_provider.setIcon, "mdi6.key-outline", role="accent")

    def set_column(self, width: int) -> None:
        """As wide as the transcript's reading column, `width` px."""
        self.column.setMaximumWidth(width)
        self.reflow()

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

    def set_assistants(self, assistants: list[tuple[str, str]], current: str) -> None:
        """The assistants as chips, (name, description) each; `current` is checked."""
        if assistants != self._assistants:
            self._assistants = list(assistants)
            for chip in self.chips:
                self.chip_group.removeButton(chip)
                chip.deleteLater()
            self.chips = []
            for name, description in assistants:
                chip = AssistantChip(name, description, self.assistant_box)
                chip.set_compact(self._compact)
                self.chip_group.addButton(chip)
                chip.clicked.connect(lambda _=False, a=name: self.assistantChosen.emit(a))
                self.chips.append(chip)
            self.reflow()
        self.show_assistant(current)

    def show_assistant(self, name: str) -> None:
        """Check the chip of the chat's assistant."""
        for chip in self.chips:
            chip.setChecked(chip.name == name)


def fitting_columns(cards: Sequence[Card], room: int, most: int) -> int:
    """How many columns of `cards`, at most `most`, fit in `room` px with every heading whole."""
    widest = max((card.heading_width() for card in cards), default=0)
    columns = max(1, most)
    while columns > 1 and columns * widest + (columns - 1) * GRID_SPACING > room:
        columns -= 1
    return columns


def place(grid: QGridLayout, cards: Sequence[Card], columns: int) -> None:
    """`cards` row by row in `columns` equal columns of `grid` (unchanged when they are so)."""
    spots = [(n // columns, n % columns) for n in range(len(cards))]
    indexes = [grid.indexOf(card) for card in cards]
    if -1 not in indexes and spots == [
        cast("tuple[int, int, int, int]", grid.getItemPosition(i))[:2] for i in indexes
    ]:
        return
    for card in cards:
        grid.removeWidget(card)
    for card, (row, column) in zip(cards, spots, strict=True):
        grid.addWidget(card, row, column)
    for column in range(grid.columnCount()):
        grid.setColumnStretch(column, 1 if column < columns else 0)
