"""The desktop entry under packaging/ launches what the package installs, with an icon that exists."""

import configparser
import shlex
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # desktop entry keys are case-sensitive
    parser.read(ROOT / "packaging" / "linux" / "mgdesk.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_desktop_entry_runs_a_command_the_package_declares():
    entry = _entry()
    scripts = {ep.name for ep in entry_points(group="console_scripts") if ep.value.startswith("mgdesk.")}
    command, *args = shlex.split(entry["Exec"])
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    assert command in scripts
    from mgdesk.cli import build_parser, cmd_gui

    assert build_parser().parse_args(args).func is cmd_gui  # the arguments open the window


def test_the_desktop_entry_names_the_icon_shipped_in_resources():
    entry = _entry()
    icon = ROOT / "resources" / f"{entry['Icon']}.svg"
    assert icon.is_file() and "<svg" in icon.read_text()
    assert entry["Categories"].endswith(";") and "Photography" in entry["Categories"].split(";")
