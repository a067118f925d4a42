"""PySide6 + pyqtgraph desktop application."""
