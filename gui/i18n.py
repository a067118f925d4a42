"""Interface languages: English (the source texts) and Simplified Chinese (Qt translations).

Installing a translator makes Qt send every widget a ``LanguageChange`` event; each view then
sets its texts again through ``tr()``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtGui import QFontDatabase

LANGUAGES = {"en": "English", "zh_CN": "简体中文 (Chinese)"}
CJK_FONT_PACKAGES = ("fonts-wqy-microhei", "fonts-noto-cjk")
MISSING_CJK_FONT = (
    "No Chinese font is installed: Chinese text is drawn as empty boxes. Install one "
    "(Debian/Ubuntu: apt-get install {packages}) and restart the app."
).format(packages=" or ".join(CJK_FONT_PACKAGES))
"""Shown in English: without the font, a Chinese warning could not be read."""


def cjk_font_installed() -> bool:
    """True when Qt finds a font that draws Simplified Chinese (needs a running QGuiApplication)."""
    return bool(QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese))


def filled(text: str, *values: str) -> str:
    """A translated `text` with its place markers ``%1``, ``%2`` … replaced by `values`, in
    order (the translation decides where each one stands)."""
    for number, value in enumerate(values, start=1):
        text = text.replace(f"%{number}", value)
    return text


TRANSLATIONS_DIR = Path(__file__).with_name("translations")


class Languages:
    """Switches the application's language.

    Parameters
    ----------
    app : QCoreApplication
        The running application.
    """

    def __init__(self, app: QCoreApplication) -> None:
        self.app = app
        self.code = "en"
        self._translator: QTranslator | None = None

    def set(self, code: str) -> None:
        """Show the interface in ``code`` (a key of :data:`LANGUAGES`).

        Raises
        ------
        ValueError
            For a language that does not ship, or a translation file that will not load.
        """
        if code not in LANGUAGES:
            raise ValueError(
                f"language {code!r} is not available; choose from {', '.join(LANGUAGES)}"
            )
        if self._translator is not None:
            self.app.removeTranslator(self._translator)
            self._translator = None
        if code != "en":
            translator = QTranslator(self.app)
            path = TRANSLATIONS_DIR / f"nirpoct_{code}.qm"
            if not translator.load(str(path)):
                raise ValueError(f"cannot load the {LANGUAGES[code]} translation {path}")
            self.app.installTranslator(translator)
            self._translator = translator
        self.code = code
