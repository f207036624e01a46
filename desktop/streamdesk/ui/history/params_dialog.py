"""The per-conversation system prompt and parameters (temperature, max tokens, thinking).

A small dialog opened with `.open()`; "Default" (the minimum of each spin box) leaves the
parameter out of the request so the provider's own default applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

EDITED = ("temperature", "max_tokens", "reasoning")


class ConversationSettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None, system_prompt: str, params: Mapping[str, Any]):
        super().__init__(parent)
        self.setWindowTitle("Conversation settings")
        self.others = {k: v for k, v in params.items() if k not in EDITED}  # e.g. mcp_servers
        self.system = QPlainTextEdit(system_prompt, self)
        self.system.setPlaceholderText("System prompt sent before every request (optional)")
        self.temperature = QDoubleSpinBox(self)
        self.temperature.setRange(-0.1, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(1)
        self.temperature.setSpecialValueText("Default")
        temp = params.get("temperature")
        self.temperature.setValue(float(temp) if temp is not None else -0.1)
        self.max_tokens = QSpinBox(self)
        self.max_tokens.setRange(0, 1_000_000)
        self.max_tokens.setSpecialValueText("Default")
        self.max_tokens.setValue(int(params.get("max_tokens") or 0))
        self.reasoning = QCheckBox("Ask for the model's thinking", self)
        self.reasoning.setToolTip(
            "Anthropic extended thinking, Gemini thought summaries, OpenAI Responses reasoning"
            " summaries (reasoning models); chat completions show reasoning when sent"
        )
        self.reasoning.setChecked(bool(params.get("reasoning")))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("System prompt", self.system)
        form.addRow("Temperature", self.temperature)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow("", self.reasoning)
        form.addRow(buttons)
        self.resize(520, 320)

    def values(self) -> tuple[str, dict[str, Any]]:
        """The system prompt and the parameters: the ones edited here and every other one the
        conversation had (its tools) unchanged."""
        params: dict[str, Any] = dict(self.others)
        if self.temperature.value() >= 0:
            params["temperature"] = round(self.temperature.value(), 2)
        if self.max_tokens.value() > 0:
            params["max_tokens"] = self.max_tokens.value()
        if self.reasoning.isChecked():
            params["reasoning"] = True
        return self.system.toPlainText(), params
