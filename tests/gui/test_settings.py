"""Settings: declared once, rendered by the dialog, persisted as JSON in the config dir."""

from __future__ import annotations

import json

from mgdesk import paths
from mgdesk.gui.settings import OPTIONS, Settings, settings_path
from mgdesk.gui.settings_dialog import SettingsDialog


def test_settings_live_in_the_config_dir_and_survive_a_restart():
    assert settings_path().parent == paths.config_dir()
    s = Settings.load()
    s.set("device", "cpu")
    s.set("similar_threshold", 0.9)
    s.save()
    again = Settings.load()
    assert (again.device, again.similar_threshold) == ("cpu", 0.9)


def test_a_malformed_settings_file_falls_back_to_defaults(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"device": "quantum", "quiet_seconds": "soon", "model": "lite0"}))
    s = Settings.load(path)
    assert s.device == "auto" and s.quiet_seconds == 2.0


def test_a_saved_former_default_gives_way_to_the_new_one_but_a_chosen_value_stays(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"keep_best_rules": "resolution, file_size, format, oldest, folder, exif"}))
    assert "unedited" in Settings.load(path).keep_rules.order  # saved, never chosen
    path.write_text(json.dumps({"keep_best_rules": "file_size, resolution"}))
    assert Settings.load(path).keep_rules.order == ("file_size", "resolution")


def test_the_dialog_shows_every_option_and_saves_what_changed(qtbot, tmp_path):
    s = Settings(path=tmp_path / "settings.json")
    dialog = SettingsDialog(s)
    qtbot.addWidget(dialog)
    assert set(dialog.editors) == {o.name for o in OPTIONS}
    dialog.editors["excluded_patterns"].setText("*.tmp; */cache/*")
    dialog.editors["device"].setCurrentText("cpu")
    assert sorted(dialog.apply()) == ["device", "excluded_patterns"]
    assert Settings.load(tmp_path / "settings.json").excluded == ("*.tmp", "*/cache/*")


def test_keep_rules_from_settings_reach_the_engine_and_a_typo_falls_back_to_the_default():
    settings = Settings()
    settings.values["keep_best_rules"] = "format, resolution"
    settings.values["preferred_folders"] = "/photos/best; /photos/other"
    rules = settings.keep_rules
    assert rules.order == ("format", "resolution")
    assert rules.preferred_folders == ("/photos/best", "/photos/other")
    settings.values["keep_best_rules"] = "resolutoin"
    from mgdesk.core.keepbest import RULES
    assert settings.keep_rules.order == RULES
