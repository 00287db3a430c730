"""The recognition report as a document: plain text for terminals and e-mails, or one self-contained
HTML file (styles inlined, no external resources) that a registrar can archive or print.

Both use the page's gettext catalogue, so ``edc-bridge verify --report html --lang fr`` reads
exactly like the French verification page.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.l10n import translations
from bridge.web.i18n import PAGE_LANGUAGES, render

STYLESHEET = Path(__file__).resolve().parent / "static" / "edc.css"
FORMATS = ("text", "html")


def render_report(report: dict[str, Any], fmt: str, lang: str = "en", *, filename: str = "",
                  untrusted_hint: str | None = None) -> str:
    """``report`` from :func:`bridge.verify.verify_credential`; ``fmt`` is ``text`` or ``html``."""
    if fmt not in FORMATS:
        raise ValueError(f"report format must be one of {', '.join(FORMATS)}")
    lang = lang if lang in PAGE_LANGUAGES else "en"
    if fmt == "text":
        return render("report.txt", lang, report=report, untrusted_hint=untrusted_hint)
    return render("report.html", lang, report=report, filename=filename, untrusted_hint=untrusted_hint,
                  css=STYLESHEET.read_text(encoding="utf-8"))


def cli_trust_hint(lang: str) -> str:
    """What "trusted: not checked" means on the command line (no anchors were passed)."""
    return translations(lang if lang in PAGE_LANGUAGES else "en").gettext("not checked (no --trust given)")
