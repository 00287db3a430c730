"""The learner's PDF: the certificate page and the details, laid out by WeasyPrint, with a QR code of
the credential page (segno), the sealed credential file attached, and sealed as PAdES.

Made once per credential, on the delivery side, and stored (``bridge.documents.store``): layout costs
tens of milliseconds, which downloads must not pay again.
"""
from __future__ import annotations

import io
import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import segno

from bridge.documents import layout
from bridge.documents.view import CredentialView
from bridge.l10n import translated_environment

log = logging.getLogger(__name__)
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
# WeasyPrint shares its font configuration (fontconfig, Pango) between documents and is not made to lay
# out two at once in one process: threads take turns; processes scale.
_LAYOUT = threading.Lock()


@lru_cache(maxsize=16)
def _environment(lang: str) -> Any:
    return translated_environment(TEMPLATE_DIR, lang, autoescape_strings=True)


def certificate_html(view: CredentialView, *, full: bool) -> str:
    """The page(s) as HTML: only the certificate page, or (``full``) with the details pages too."""
    return _environment(view.lang).get_template("certificate.html").render(v=view, layout=layout, full=full)


def qr_data_uri(url: str, colour: str = "#1d232b") -> str:
    """The credential page's address as a QR code (SVG data URI, error correction M, no quiet zone:
    the page leaves white space around it)."""
    return segno.make(url, error="m", micro=False).svg_data_uri(scale=4, border=0, dark=colour)


@lru_cache(maxsize=1)
def _fonts() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_pdf(view: CredentialView, *, attachment: bytes | None = None,
               attachment_name: str = "credential.jsonld") -> bytes:
    """The learner's PDF (not yet sealed). ``attachment``: the sealed credential file, embedded whole."""
    from weasyprint import HTML, Attachment

    if view.page_url and not view.qr:
        view.qr = qr_data_uri(view.page_url)
    attachments = []
    if attachment:
        attachments.append(Attachment(file_obj=io.BytesIO(attachment), name=attachment_name,
                                      description="European Digital Credential (sealed JSON-LD)"))
    html = certificate_html(view, full=True)
    with _LAYOUT:
        document = HTML(string=html).render(font_config=_fonts())
        return document.write_pdf(attachments=attachments, pdf_identifier=None)


def render_first_page(view: CredentialView) -> bytes:
    """Only the certificate page, as PDF: what the displayDetail image is rasterised from."""
    from weasyprint import HTML

    html = certificate_html(view, full=False)
    with _LAYOUT:
        return HTML(string=html).write_pdf(font_config=_fonts())
