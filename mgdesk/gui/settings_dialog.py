"""Settings dialog rendered from the option declarations in gui/settings.py."""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel,
                               QLineEdit, QSpinBox, QWidget)

from mgdesk.gui.settings import OPTIONS, Settings, rule_names


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("mgdesk settings")
        self.setMinimumWidth(560)
        self.settings = settings
        self.editors: dict[str, QWidget] = {}
        form = QFormLayout(self)
        for option in OPTIONS:
            value = settings.get(option.name)
            if option.choices:
                editor = QComboBox()
                editor.addItems(list(option.choices))
                editor.setCurrentText(str(value))
            elif option.type is float:
                editor = QDoubleSpinBox()
                editor.setDecimals(2)
                editor.setSingleStep(0.01 if (option.maximum or 0) <= 1 else 0.5)
                editor.setRange(option.minimum or 0.0, option.maximum or 1e6)
                editor.setValue(float(value))
            elif option.type is int:
                editor = QSpinBox()
                editor.setRange(int(option.minimum or 0), int(option.maximum or 10**6))
                editor.setValue(int(value))
            else:
                editor = QLineEdit(str(value))
            editor.setToolTip(option.help)
            editor.setObjectName(option.name)
            self.editors[option.name] = editor
            form.addRow(option.label, editor)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color:#c0392b;")
        self.problem.hide()
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        """Free-text settings that mgdesk would not understand are not saved: it says why instead
        (a mistyped keep-best rule would otherwise fall back to the default order unseen)."""
        problem = self.problems()
        if problem:
            self.problem.setText(problem)
            self.problem.show()
            return
        super().accept()

    def problems(self) -> str:
        from mgdesk.core.keepbest import KeepRules
        try:
            KeepRules(order=rule_names(self.values()["keep_best_rules"]))
        except ValueError as exc:
            return f"Keep-best rules: {exc}"
        return ""

    def values(self) -> dict:
        out = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QComboBox):
                out[name] = editor.currentText()
            elif isinstance(editor, (QDoubleSpinBox, QSpinBox)):
                out[name] = editor.value()
            else:
                out[name] = editor.text()
        return out

    def apply(self) -> list[str]:
        """Copy the editors into the settings, save them, return the names that changed."""
        changed = []
        for name, value in self.values().items():
            before = self.settings.get(name)
            self.settings.set(name, value)
            if self.settings.get(name) != before:
                changed.append(name)
        self.settings.save()
        return changed
