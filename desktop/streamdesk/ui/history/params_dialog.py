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
DEFAULT_TEMPERATURE = -0.1  # the spin box's "Default": no temperature is sent


def temperature_spin(parent: QWidget, value: float | None) -> QDoubleSpinBox:
    """0 to 2 in tenths, or "Default" (read it back with `spin_temperature`)."""
    spin = QDoubleSpinBox(parent)
    spin.setRange(DEFAULT_TEMPERATURE, 2.0)
    spin.setSingleStep(0.1)
    spin.setDecimals(1)
    spin.setSpecialValueText("Default")
    spin.setValue(DEFAULT_TEMPERATURE if value is None else float(value))
    return spin


def spin_temperature(spin: QDoubleSpinBox) -> float | None:
    return None if spin.value() < 0 else round(spin.value(), 2)


def max_tokens_spin(parent: QWidget, value: int | None) -> QSpinBox:
    """A token cap, or "Default" (0)."""
    spin = QSpinBox(parent)
    spin.setRange(0, 1_000_000)
    spin.setSpecialValueText("Default")
    spin.setValue(int(value or 0))
    return spin


def reasoning_check(parent: QWidget, on: bool) -> QCheckBox:
    check = QCheckBox("Ask for the model's thinking", parent)
    check.setToolTip(
        "Anthropic extended thinking, Gemini thought summaries, OpenAI Responses reasoning"
        " summaries (reasoning models); chat completions show reasoning when sent"
    )
    check.setChecked(on)
    return check


class ConversationSettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None, system_prompt: str, params: Mapping[str, Any]):
        super().__init__(parent)
        self.setWindowTitle("Conversation settings")
        self.others = {k: v for k, v in params.items() if k not in EDITED}  # e.g. mcp_servers
        self.system = QPlainTextEdit(system_prompt, self)
        self.system.setPlaceholderText("System prompt sent before every request (optional)")
        self.temperature = temperature_spin(self, params.get("temperature"))
        self.max_tokens = max_tokens_spin(self, params.get("max_tokens"))
        self.reasoning = reasoning_check(self, bool(params.get("reasoning")))
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
        temperature = spin_temperature(self.temperature)
        if temperature is not None:
            params["temperature"] = temperature
        if self.max_tokens.value() > 0:
            params["max_tokens"] = self.max_tokens.value()
        if self.reasoning.isChecked():
            params["reasoning"] = True
        return self.system.toPlainText(), params
