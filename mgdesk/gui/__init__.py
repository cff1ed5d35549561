"""The PySide6 desktop app; talks to the engine only through gui/worker.py."""
