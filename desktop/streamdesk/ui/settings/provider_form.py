"""The Providers page's form: name, URLs, auth, models and timeouts of one provider profile.

`ProviderForm` shows a `ProviderSettings` (`load`) and gives back what it shows now (`profile`);
the page around it owns the list, the working settings, the key box and the tests.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from streamdesk.core.provider_urls import UrlAdvice, base_url_advice, ws_url_advice
from streamdesk.core.providers import (
    BUILTIN_PROVIDERS,
    ModelInfo,
    context_window_problem,
    known_window,
)
from streamdesk.core.request import AuthStyle, Timeouts
from streamdesk.core.store.settings import ProviderSettings
from streamdesk.ui.plain_text import plain_label
from streamdesk.ui.settings.url_note import URL_NOTE_WIDTH, UrlNote, error_color, hold_lines

AUTH_CHOICES = (
    (AuthStyle.BEARER, "Authorization: Bearer"),
    (AuthStyle.X_API_KEY, "X-API-Key header"),
    (AuthStyle.QUERY_PARAM, "api_key query parameter"),
)
BUILTIN_IDS = {p.id: p for p in BUILTIN_PROVIDERS}
API_CHOICES = (
    ("chat", "OpenAI chat completions (and compatible servers)"),
    ("responses", "OpenAI Responses"),
    ("anthropic", "Anthropic Messages"),
    ("gemini", "Google Gemini"),
)
RESUME_CHOICES = (
    ("continue", "Continue from where it stopped"),
    ("restart", "Send the request again"),
    ("off", "Stop and keep the partial reply"),
)
CONTINUATION_CHOICES = (
    ("assistant", "a trailing assistant message"),
    ("prefix", "DeepSeek prefix completion"),
    ("vllm", "vLLM continue_final_message"),
)


MODEL_COLUMNS = ("Model", "Input $/M", "Output $/M", "Context (tokens)")
CONTEXT_COLUMN = 3
CONTEXT_TIP = (
    "The tokens the model reads in one request, prompt and reply together (128000, 128k, 1M)."
    " A long chat leaves its oldest turns out to fit. Empty: the built-in figure where"
    " Streamdesk knows the model, else no limit."
)
_SCALES = {"k": 1_000, "m": 1_000_000}


def _price(text: str) -> float | None:
    try:
        return float(text.strip().lstrip("$")) if text.strip() else None
    except ValueError:
        return None


def context_tokens(text: str) -> int | None:
    """A context window as typed: 131072, 131,072, 128k or 1M; None when empty. ValueError
    when it is no number of tokens, in words for the form (the bounds are checked apart, so
    Save can refuse a number out of them by name)."""
    plain = text.strip().replace(",", "").replace("_", "").replace(" ", "")
    if not plain:
        return None
    scale = _SCALES.get(plain[-1].lower(), 1)
    number = plain[:-1] if scale > 1 else plain
    try:
        tokens = round(float(number) * scale) if scale > 1 else int(number)
    except (ValueError, OverflowError):  # not a number, or "infk"
        tokens = -1
    if tokens < 0:
        raise ValueError(f"must be a number of tokens such as 131072 or 128k, got {text.strip()!r}")
    return tokens


def context_problem(text: str) -> str | None:
    """Why a typed context window cannot be used (a clause), or None when it can."""
    try:
        tokens = context_tokens(text)
    except ValueError as exc:
        return str(exc)
    return None if tokens is None else context_window_problem(tokens)


def seconds_spin(parent: QWidget, maximum: float) -> QDoubleSpinBox:
    """A spin box for a timeout in seconds, 0.1 s to `maximum`."""
    spin = QDoubleSpinBox(parent)
    spin.setRange(0.1, maximum)
    spin.setDecimals(1)
    spin.setSuffix(" s")
    spin.setMaximumWidth(110)
    return spin


class ProviderForm(QWidget):
    """Emits `nameEdited(text)` as the name is typed and `refreshRequested()` for the
    server's model list (the page asks the server: it has the key and the network options)."""

    nameEdited = Signal(str)
    refreshRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.provider_id = ""  # of the profile shown
        self.save_problem_shown = False  # the models note says why Save refused
        self.name_edit = QLineEdit(self)
        self.name_edit.textEdited.connect(self.nameEdited)
        self.id_label = plain_label("", self)  # an id from a hand-written file
        self.id_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.base_edit = QLineEdit(self)
        self.base_edit.setPlaceholderText("https://api.example.com/v1")
        self.ws_edit = QLineEdit(self)
        self.ws_edit.setPlaceholderText("wss://api.example.com/v1/ws/chat (optional)")
        self.api_box = QComboBox(self)
        for value, label in API_CHOICES:
            self.api_box.addItem(label, value)
        self.api_box.setToolTip("The API this server speaks: how requests and replies look")
        self.api_box.currentIndexChanged.connect(self._enable_auth)
        self.auth_box = QComboBox(self)
        for style, label in AUTH_CHOICES:
            self.auth_box.addItem(label, style)
        self.sign_check = QCheckBox("Sign requests (X-Timestamp / X-Signature)", self)
        self.needs_key_check = QCheckBox("Needs an API key", self)
        self.models_table = QTableWidget(0, len(MODEL_COLUMNS), self)
        self.models_table.setHorizontalHeaderLabels(list(MODEL_COLUMNS))
        context_header = self.models_table.horizontalHeaderItem(CONTEXT_COLUMN)
        if context_header is not None:
            context_header.setToolTip(CONTEXT_TIP)
        self.models_table.itemChanged.connect(self._cell_changed)
        header = self.models_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(CONTEXT_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        self.models_table.verticalHeader().hide()
        self.models_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.models_table.setMinimumHeight(120)
        model_buttons = QHBoxLayout()
        self.add_model_button = QPushButton("Add model", self)
        self.add_model_button.clicked.connect(self._add_empty_model)
        self.remove_model_button = QPushButton("Remove model", self)
        self.remove_model_button.clicked.connect(self._remove_model_row)
        self.refresh_button = QPushButton("Refresh models", self)
        self.refresh_button.setToolTip("Ask the server's GET /models for its model list")
        self.refresh_button.clicked.connect(self.refreshRequested)
        self.models_label = plain_label("", self)  # may quote a server's error
        self.models_label.setWordWrap(True)
        for button in (self.add_model_button, self.remove_model_button, self.refresh_button):
            model_buttons.addWidget(button)
        model_buttons.addStretch(1)
        self.default_model_box = QComboBox(self)
        self.default_model_box.setEditable(True)
        self.own_timeouts = QCheckBox("Own timeouts and retries (else the Network page's)", self)
        self.connect_spin = seconds_spin(self, 120)
        self.first_token_spin = seconds_spin(self, 3600)
        self.stall_spin = seconds_spin(self, 3600)
        self.retries_spin = QSpinBox(self)
        self.retries_spin.setRange(0, 10)
        timeouts = QHBoxLayout()
        for label, w in (
            ("connect", self.connect_spin),
            ("first token", self.first_token_spin),
            ("stall", self.stall_spin),
            ("retries", self.retries_spin),
        ):
            timeouts.addWidget(QLabel(label, self))
            timeouts.addWidget(w)
        timeouts.addStretch(1)
        self.own_timeouts.toggled.connect(self._enable_timeouts)
        self.resume_box = QComboBox(self)
        for value, label in RESUME_CHOICES:
            self.resume_box.addItem(label, value)
        self.resume_box.setToolTip(
            "What happens when a reply breaks mid-stream (connection cut, stall, bad data)"
        )
        self.resume_attempts_spin = QSpinBox(self)
        self.resume_attempts_spin.setRange(0, 10)
        self.resume_attempts_spin.setSuffix(" attempts")
        self.continuation_box = QComboBox(self)
        for value, label in CONTINUATION_CHOICES:
            self.continuation_box.addItem(label, value)
        self.continuation_box.setToolTip("How this server is asked to carry a reply on")
        resume = QHBoxLayout()
        resume.addWidget(self.resume_box, 1)
        resume.addWidget(self.resume_attempts_spin)
        resume.addWidget(QLabel("as", self))
        resume.addWidget(self.continuation_box, 1)
        self.resume_box.currentIndexChanged.connect(self._enable_resume)
        self.base_note = UrlNote(self.base_edit, self._base_advice, self)
        self.ws_note = UrlNote(self.ws_edit, ws_url_advice, self)
        self.api_box.currentIndexChanged.connect(self.base_note.refresh)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Name", self.name_edit)
        form.addRow("Id", self.id_label)
        form.addRow("SSE base URL", self.url_with_note(self.base_edit, self.base_note))
        form.addRow("WebSocket URL", self.url_with_note(self.ws_edit, self.ws_note))
        form.addRow("API", self.api_box)
        form.addRow("Authentication", self.auth_box)
        form.addRow("", self.sign_check)
        form.addRow("", self.needs_key_check)
        form.addRow("Models", self._models_column(model_buttons))
        form.addRow("Default model", self.default_model_box)
        form.addRow("", self.own_timeouts)
        form.addRow("", timeouts)
        form.addRow("After a cut", resume)

    def url_with_note(self, edit: QLineEdit, note: UrlNote) -> QWidget:
        """A URL field with its note under it, as one row of the form."""
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(edit)
        column.addWidget(note)
        return box

    def _models_column(self, buttons: QHBoxLayout) -> QWidget:
        """The models table, its buttons, and the note under them (a line of its own: a
        problem may take two; hidden while there is nothing to say)."""
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.models_table)
        column.addLayout(buttons)
        column.addWidget(self.models_label)
        self.models_label.hide()
        return box

    def _base_advice(self, text: str) -> UrlAdvice:
        return base_url_advice(text, str(self.api_box.currentData()), self._test_model())

    def _test_model(self) -> str:
        listed = self._listed_models()
        return self.default_model_box.currentText().strip() or (listed[0].id if listed else "")

    def show_problem(self, field: str, message: str) -> None:
        """Point at the field Save refused (`ProfileProblem.field`), saying `message` there
        when the field has no note of its own."""
        if field == "ws_url":
            self.ws_edit.setFocus()
        elif field == "base_url":
            self.base_edit.setFocus()
            self.base_note.refresh()
            if self.base_note.problem is None:  # empty: the note says nothing of it
                self.base_note.show_words(message, error=True)
        else:
            self.set_models_note(message, error=True)
            self.save_problem_shown = True

    def forget_save_problem(self) -> None:
        """Save found nothing wrong: a problem it pointed at in the models is gone."""
        if self.save_problem_shown:
            self.set_models_note("")

    # -- form <-> profile -----------------------------------------------------------------

    def load(self, p: ProviderSettings, timeouts: Timeouts, max_retries: int) -> None:
        """Show `p`; `timeouts` and `max_retries` are what it uses without its own."""
        self.provider_id = p.id
        builtin = p.id in BUILTIN_IDS
        self.name_edit.setText(p.name)
        self.id_label.setText(p.id + ("  (built in)" if builtin else ""))
        self.base_edit.setText(p.base_url)
        self.ws_edit.setText(p.ws_url or "")
        self.api_box.setCurrentIndex(max(0, self.api_box.findData(p.api)))
        self._enable_auth()
        self.auth_box.setCurrentIndex(max(0, self.auth_box.findData(p.auth)))
        self.sign_check.setChecked(p.sign)
        self.needs_key_check.setChecked(p.needs_key)
        self.models_table.setRowCount(0)
        for m in p.models:
            self.add_model_row(m)
        self._fill_default_models(p.default_model)
        t = p.timeouts or timeouts
        self.connect_spin.setValue(t.connect)
        self.first_token_spin.setValue(t.first_token)
        self.stall_spin.setValue(t.stall)
        retries = max_retries if p.max_retries is None else p.max_retries
        self.retries_spin.setValue(retries)
        self.own_timeouts.setChecked(p.timeouts is not None or p.max_retries is not None)
        self._enable_timeouts(self.own_timeouts.isChecked())
        self.resume_box.setCurrentIndex(max(0, self.resume_box.findData(p.resume)))
        self.resume_attempts_spin.setValue(p.resume_attempts)
        self.continuation_box.setCurrentIndex(
            max(0, self.continuation_box.findData(p.continuation))
        )
        self._enable_resume()
        self.set_models_note("")
        self.base_note.refresh()

    def _enable_auth(self) -> None:
        """Anthropic and Gemini send the key in their own header: no choice to offer."""
        own = self.api_box.currentData() in ("anthropic", "gemini")
        self.auth_box.setEnabled(not own)
        self.auth_box.setToolTip(
            "This API sends the key in its own header (x-api-key, x-goog-api-key)" if own else ""
        )

    def _enable_resume(self) -> None:
        strategy = self.resume_box.currentData()
        self.resume_attempts_spin.setEnabled(strategy != "off")
        self.continuation_box.setEnabled(strategy == "continue")

    def profile(self) -> ProviderSettings:
        """The profile as the form shows it now."""
        models = []
        for row in range(self.models_table.rowCount()):
            cells = [self.models_table.item(row, c) for c in range(len(MODEL_COLUMNS))]
            name = cells[0].text().strip() if cells[0] else ""
            if name:
                prices = [_price(c.text()) if c else None for c in cells[1:CONTEXT_COLUMN]]
                # What the table does not show (vision, cache and reasoning prices) stays as
                # the row was given, so an untouched built-in is not saved as an override.
                shown = cells[0].data(Qt.ItemDataRole.UserRole) if cells[0] else None
                base = shown if isinstance(shown, ModelInfo) else ModelInfo(name)
                window = self._window(cells[CONTEXT_COLUMN], name, base)
                models.append(
                    replace(
                        base,
                        id=name,
                        input_price=prices[0],
                        output_price=prices[1],
                        context_window=window,
                    )
                )
        own = self.own_timeouts.isChecked()
        timeouts = Timeouts(
            connect=self.connect_spin.value(),
            first_token=self.first_token_spin.value(),
            stall=self.stall_spin.value(),
        )
        return ProviderSettings(
            id=self.provider_id,
            name=self.name_edit.text().strip() or self.provider_id,
            base_url=self.base_edit.text().strip(),
            ws_url=self.ws_edit.text().strip() or None,
            auth=self.auth_box.currentData(),
            sign=self.sign_check.isChecked(),
            needs_key=self.needs_key_check.isChecked(),
            models=models,
            default_model=self.default_model_box.currentText().strip(),
            timeouts=timeouts if own else None,
            max_retries=self.retries_spin.value() if own else None,
            resume=self.resume_box.currentData(),
            resume_attempts=self.resume_attempts_spin.value(),
            continuation=self.continuation_box.currentData(),
            api=self.api_box.currentData(),
        )

    def focus_name(self) -> None:
        """Put the cursor in the name field with the name selected (a new profile)."""
        self.name_edit.setFocus()
        self.name_edit.selectAll()

    def set_server_models(self, ids: list[str]) -> str:
        """The server's list, keeping the prices already known for those names."""
        known = {m.id: m for m in self.profile().models}
        default = self.default_model_box.currentText()
        self.models_table.setRowCount(0)
        for model_id in ids:
            self.add_model_row(known.get(model_id, ModelInfo(model_id)))
        self._fill_default_models(default if default in ids or not ids else ids[0])
        return f"{len(ids)} models from the server."

    def _window(self, cell: QTableWidgetItem | None, name: str, base: ModelInfo) -> int | None:
        """A row's context window: the cell's, else the built-in figure for `name`. A cell that
        reads as no number keeps the row's as it was given (the form says what is wrong); a
        number out of bounds goes as typed, for Save to refuse."""
        try:
            typed = context_tokens(cell.text()) if cell is not None else None
        except ValueError:
            return base.context_window if base.id == name else known_window(name, self.provider_id)
        return known_window(name, self.provider_id) if typed is None else typed

    def _cell_changed(self, item: QTableWidgetItem) -> None:
        """A model named that Streamdesk knows shows its window in an empty cell; a typed
        window that cannot be used is said at once, and its cell marked."""
        name_item = self.models_table.item(item.row(), 0)
        name = name_item.text().strip() if name_item is not None else ""
        context = self.models_table.item(item.row(), CONTEXT_COLUMN)
        if context is None:
            return
        if item.column() == 0:
            window = known_window(name, self.provider_id)
            if window is not None and not context.text().strip():
                context.setText(f"{window:,}")
            return
        if item.column() != CONTEXT_COLUMN:
            return
        problem = context_problem(item.text())
        if problem is not None:
            problem = f"The context window of {name or 'a new model'} {problem}."
            item.setToolTip(problem)
            item.setForeground(Qt.GlobalColor.red)
            self.set_models_note(problem, error=True)
            return
        if item.toolTip():
            item.setToolTip("")
            item.setData(Qt.ItemDataRole.ForegroundRole, None)
            self.set_models_note("")

    def set_models_note(self, text: str, *, error: bool = False) -> None:
        """The line under the model buttons: the server's answer, or what is wrong (`error`,
        in the theme's error colour)."""
        self.save_problem_shown = False
        self.models_label.setStyleSheet(f"color: {error_color(self)};" if error else "")
        self.models_label.setText(text)
        hold_lines(self.models_label, max(self.models_table.width(), URL_NOTE_WIDTH))
        self.models_label.setVisible(bool(text))

    def _add_empty_model(self) -> None:
        self.set_models_note("")  # a "no model" problem is being seen to
        self.add_model_row(ModelInfo(""))

    def add_model_row(self, m: ModelInfo) -> None:
        row = self.models_table.rowCount()
        self.models_table.insertRow(row)
        window = "" if m.context_window is None else f"{m.context_window:,}"
        cells = (m.id, m.input_price, m.output_price, window)
        for col, value in enumerate(cells):
            text = value if isinstance(value, str) else ("" if value is None else f"{value:g}")
            self.models_table.setItem(row, col, QTableWidgetItem(text))
        first = self.models_table.item(row, 0)
        if first is not None:
            first.setData(Qt.ItemDataRole.UserRole, m)
        if not m.id and first is not None:
            self.models_table.editItem(first)

    def _remove_model_row(self) -> None:
        rows = sorted({i.row() for i in self.models_table.selectedIndexes()}, reverse=True)
        for row in rows or [self.models_table.rowCount() - 1]:
            if row >= 0:
                self.models_table.removeRow(row)

    def _fill_default_models(self, current: str) -> None:
        names = [m.id for m in self._listed_models()]
        self.default_model_box.clear()
        self.default_model_box.addItems(names)
        self.default_model_box.setCurrentText(current)

    def _listed_models(self) -> list[ModelInfo]:
        return [
            ModelInfo(item.text().strip())
            for row in range(self.models_table.rowCount())
            if (item := self.models_table.item(row, 0)) is not None and item.text().strip()
        ]

    def _enable_timeouts(self, on: bool) -> None:
        for w in (self.connect_spin, self.first_token_spin, self.stall_spin, self.retries_spin):
            w.setEnabled(on)
