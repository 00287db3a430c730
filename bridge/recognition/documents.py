"""The register's and the desk's documents, laid out by WeasyPrint in English or French (gettext, the
console's catalogue): the agreement as the ECCOE MCRA template presents it, ready to sign, and the
learner's letter of a recognition decision.

The agreement's PDF carries its content digest in its keywords (``edc-bridge-agreement:<id>:<digest>``)
so the signed copy uploaded back can be tied to the very content that was agreed.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment

from bridge.db.models import Agreement, CourseTemplate, RecognitionCase
from bridge.documents.pdf import _LAYOUT, _fonts
from bridge.l10n import translated_environment, translations
from bridge.recognition import agreements as register

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
DOMAIN = "console"
LANGUAGES = ("en", "fr")
KEYWORD = "edc-bridge-agreement"


@lru_cache(maxsize=len(LANGUAGES))
def _environment(lang: str) -> Environment:
    env = translated_environment(TEMPLATE_DIR, lang, autoescape_strings=True, domain=DOMAIN)
    env.filters["day"] = lambda value: format_date(
        value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10]), "long", locale=lang)
    env.filters["num"] = lambda value: "—" if value is None else format_decimal(value, locale=lang)
    return env


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional no-op marker
    """Mark a string for extraction; it is translated where it is shown."""
    return message


DECISION_LABELS = {"recognised": N_("Recognised"), "partly": N_("Partly recognised"),
                   "refused": N_("Not recognised")}
VERDICT_LABELS = {"valid": N_("Seal valid"), "indeterminate": N_("Seal could not be confirmed"),
                  "invalid": N_("Seal invalid")}


def gettext(lang: str, message: str) -> str:
    return translations(lang, DOMAIN).gettext(message)


def our_institution() -> dict[str, Any]:
    """This institution as the agreement names it: the seal's issuer, plus the codes the settings give
    (``EDC_INSTITUTION_ERASMUS_CODE``, ``EDC_INSTITUTION_SCHAC_CODE``, ``EDC_INSTITUTION_PIC``)."""
    from bridge.api.common import runtime

    rt = runtime()
    env = rt.settings.env
    found: dict[str, Any] = {"name": env.get("EDC_INSTITUTION_NAME") or None, "country": None,
                             "eidas_identifier": None, "erasmus_code": env.get("EDC_INSTITUTION_ERASMUS_CODE"),
                             "schac_code": env.get("EDC_INSTITUTION_SCHAC_CODE"),
                             "pic": env.get("EDC_INSTITUTION_PIC")}
    try:
        issuer = rt.context.services.issuer
    except Exception:  # no eSeal configured: the settings' name only  # noqa: BLE001
        issuer = None
    if issuer is not None:
        found["name"] = found["name"] or issuer.legal_name.get("en") or next(iter(issuer.legal_name.values()))
        found["country"] = issuer.country
        found["eidas_identifier"] = issuer.eidas_identifier
    found["name"] = found["name"] or "—"
    return found


def _course_facts(session: Any, agreement: Agreement) -> tuple[dict[str, Any], dict[str, Any]]:
    """ECTS and EQF of our courses named in the agreement, from their templates."""
    ects: dict[str, Any] = {}
    eqf: dict[str, Any] = {}
    for line in agreement.courses:
        if line.our_source and line.our_course_id:
            row = session.query(CourseTemplate).filter_by(source=line.our_source, course_id=line.our_course_id).first()
            if row is not None:
                key = f"{line.our_source}/{line.our_course_id}"
                ects[key] = row.template.get("ects")
                eqf[key] = row.template.get("eqf_level")
    return ects, eqf


def agreement_html(session: Any, agreement: Agreement, lang: str) -> str:
    digest = register.digest(agreement)
    ects, eqf = _course_facts(session, agreement)
    return _environment(lang).get_template("agreement.html").render(
        lang=lang, a=agreement, p=agreement.partner, ours=our_institution(), digest=digest, our_ects=ects,
        our_eqf=eqf, keywords=f"{KEYWORD}:{agreement.id}:{digest}")


def render(html: str) -> bytes:
    from weasyprint import HTML

    with _LAYOUT:
        return HTML(string=html).write_pdf(font_config=_fonts(), pdf_identifier=None)


def agreement_pdf(session: Any, agreement: Agreement, lang: str) -> bytes:
    """The agreement to sign (any status: a draft's PDF is for review; only an agreed one is signed)."""
    return render(agreement_html(session, agreement, lang))


def letter_pdf(case: RecognitionCase, agreement: Agreement | None, lang: str) -> bytes:
    """The learner's letter of the decision on ``case`` (decided)."""
    credential = (case.report or {}).get("credential") or {}
    achievements = credential.get("achievements") or [{}]
    html = _environment(lang).get_template("letter.html").render(
        lang=lang, case=case, agreement=agreement, ours=our_institution(),
        learner=(credential.get("learner") or {}).get("name"),
        course={**achievements[0], "title": case.course_title or achievements[0].get("title")},
        decision=gettext(lang, DECISION_LABELS.get(case.decision or "", N_("Not decided"))),
        verdict=gettext(lang, VERDICT_LABELS.get(case.verdict, case.verdict)),
        decided_at=case.decided_at or case.created_at)
    return render(html)
