"""One credential as people read it, in one language: what the certificate PDF, its page image, the
e-mail and the credential page print.

Built from the credential itself (the sealed payload), so every document says exactly what was
sealed; labels of coded values come from ``bridge.elm.vocabularies`` in the reader's language, and
the interface texts from the gettext catalogue. Missing parts come out as None or empty lists, never
as an error: an odd credential must still give the learner a document.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from babel.units import format_unit

from bridge.elm import codelists, vocabularies
from bridge.elm.issuer import Issuer
from bridge.elm.template import DEFAULT_ACCENT, DEFAULT_COLOUR, CourseTemplate, Presentation
from bridge.l10n import translations

_ISCED = "http://data.europa.eu/snb/isced-f/"
_EQF = "http://data.europa.eu/snb/eqf/"
_ECTS = "http://data.europa.eu/snb/education-credit/6fcec5c5af"
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_UNITS = ("year", "month", "week", "day", "hour", "minute", "second")
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    lang: str | None = None  # set when the value is in another language than the page


@dataclass(frozen=True)
class Skill:
    label: str
    uri: str | None


@dataclass(frozen=True)
class Outcome:
    text: str
    skills: tuple[Skill, ...]


@dataclass
class CredentialView:
    """Everything printable about one credential in ``lang``; learner values are None on a template's
    blank page (the base of the displayDetail image)."""

    lang: str
    title: str
    title_lang: str
    body_name: str
    issuer_name: str
    issuer_id: str | None
    colour: str = DEFAULT_COLOUR
    accent: str = DEFAULT_ACCENT
    logo: str | None = None
    description: str | None = None
    learner_name: str | None = None
    awarded_on: str | None = None
    grade: str | None = None
    grade_lang: str | None = None
    facts: list[Fact] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    assessment: str | None = None
    grading_scheme: str | None = None
    signatory_name: str | None = None
    signatory_title: str | None = None
    credential_id: str | None = None
    issued_on: str | None = None
    expires_on: str | None = None
    homepage: str | None = None
    page_url: str | None = None
    qr: str | None = None  # an SVG data URI of the page URL, on the PDF only

    @property
    def gettext(self) -> Any:
        return translations(self.lang).gettext

    def awarded_line(self) -> str | None:
        """The certificate's line under the name: the award date, and the grade when there is one."""
        if not self.awarded_on:
            return None
        return award_line(self.lang, self.awarded_on, self.grade)


def award_line(lang: str, awarded_on: str, grade: str | None) -> str:
    """"Awarded on <date> · Grade: <grade>" in ``lang`` (the page image draws the same text)."""
    gettext = translations(lang).gettext
    line = gettext("Awarded on %(date)s") % {"date": awarded_on}
    if not grade:
        return line
    # Outside an f-string, where the catalogue's extractor finds it.
    return line + " · " + gettext("Grade: %(grade)s") % {"grade": grade}


def pick(value: Any, lang: str) -> tuple[str | None, str | None]:
    """The text of a language map in ``lang``, else English, else any language, with its language."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict | str)), None)
    if isinstance(value, str):
        return value, None
    if not isinstance(value, dict):
        return None, None
    for key in (lang, "en", *value):
        text = value.get(key)
        if isinstance(text, str) and text.strip():
            return text, key
    return None, None


def text(value: Any, lang: str) -> str | None:
    return pick(value, lang)[0]


def long_date(value: Any, lang: str) -> str | None:
    """An xsd:dateTime as a date in the reader's words ("20 novembre 2026"), in UTC as sealed."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return date_words(moment.astimezone(dt.UTC).date() if moment.tzinfo else moment.date(), lang)


def date_words(day: dt.date, lang: str) -> str:
    try:
        return format_date(day, format="long", locale=lang)
    except (ValueError, LookupError):
        return format_date(day, format="long", locale="en")


def duration_words(value: Any, lang: str) -> str | None:
    """An ISO 8601 duration (``PT125H``) in words ("125 heures")."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value.strip())
    if not match or not any(match.groups()):
        return value
    return ", ".join(format_unit(int(n), f"duration-{unit}", length="long", locale=lang)
                     for n, unit in zip(match.groups(), _UNITS, strict=True) if n)


def number_words(value: Any, lang: str) -> str | None:
    if value is None:
        return None
    try:
        return format_decimal(float(value), locale=lang)
    except (TypeError, ValueError):
        return str(value)


def _list(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [i for i in items if isinstance(i, dict)]


def _first(value: Any) -> dict[str, Any]:
    items = _list(value)
    return items[0] if items else {}


def _label(concept: dict[str, Any], lang: str) -> str | None:
    uri = concept.get("id") if isinstance(concept.get("id"), str) else None
    return vocabularies.label(uri, lang) or text(concept.get("prefLabel"), lang)


def _logo(organisation: dict[str, Any]) -> str | None:
    logo = _first(organisation.get("logo"))
    content = logo.get("content")
    kind = str(_first(logo.get("contentType")).get("id") or "").rsplit("/", 1)[-1].upper()
    if isinstance(content, str) and kind in ("PNG", "JPEG") and re.fullmatch(r"[A-Za-z0-9+/=\s]+", content):
        return f"data:image/{kind.lower()};base64,{''.join(content.split())}"
    return None


def _facts(spec: dict[str, Any], lang: str) -> list[Fact]:
    """ECTS, EQF, ISCED-F, mode, volume, languages and setting of an achievement's specification."""
    _ = translations(lang).gettext
    facts: list[Fact] = []
    for credit in _list(spec.get("creditPoint")):
        if _first(credit.get("framework")).get("id") == _ECTS and credit.get("point") is not None:
            facts.append(Fact(_("ECTS credits"), number_words(credit.get("point"), lang) or ""))
    eqf = _first(spec.get("eqfLevel"))
    if eqf:
        facts.append(Fact(_("EQF level"), str(eqf.get("id", "")).removeprefix(_EQF)))
    for area in _list(spec.get("thematicArea")):
        uri = str(area.get("id") or "")
        label = _label(area, lang)
        if uri.startswith(_ISCED):
            facts.append(Fact(_("Field of education (ISCED-F)"), f"{uri.removeprefix(_ISCED)} · {label}"
                              if label else uri.removeprefix(_ISCED)))
    modes = [label for m in _list(spec.get("mode")) if (label := _label(m, lang))]
    if modes:
        facts.append(Fact(_("Mode of learning"), ", ".join(modes)))
    if spec.get("volumeOfLearning"):
        facts.append(Fact(_("Volume of learning"), duration_words(spec.get("volumeOfLearning"), lang) or ""))
    languages = [label for m in _list(spec.get("language")) if (label := _label(m, lang))]
    if languages:
        facts.append(Fact(_("Language of instruction"), ", ".join(languages)))
    setting = _label(_first(spec.get("learningSetting")), lang) if spec.get("learningSetting") else None
    if setting:
        facts.append(Fact(_("Learning setting"), setting))

    return facts


def from_credential(credential: dict[str, Any], lang: str, *, presentation: Presentation | None = None,
                    page_url: str | None = None) -> CredentialView:
    """The view of a credential (the payload of a sealed file) in ``lang``."""
    _ = translations(lang).gettext
    cred = credential if isinstance(credential, dict) else {}
    subject = _first(cred.get("credentialSubject"))
    claim = _first(subject.get("hasClaim"))
    spec = _first(claim.get("specifiedBy"))
    awarding = _first(claim.get("awardedBy"))
    body = _first(awarding.get("awardingBody"))
    issuer = _first(cred.get("issuer"))
    display = _first(cred.get("displayParameter"))
    title, title_lang = pick(display.get("title") or claim.get("title"), lang)
    presentation = presentation or Presentation()

    facts = _facts(spec, lang)
    outcomes = [Outcome(text(o.get("title"), lang) or "",
                        tuple(Skill(text(s.get("prefLabel"), lang) or str(s.get("id")),
                                    s.get("id") if str(s.get("id", "")).startswith("http") else None)
                              for s in _list(o.get("relatedESCOSkill"))))
                for o in _list(spec.get("learningOutcome"))]
    assessment = _first(claim.get("provenBy"))
    grade, grade_lang = pick(_first(assessment.get("grade")).get("noteLiteral"), lang)
    signatory_title = text(presentation.signatory_title, lang) if presentation.signatory_title else None
    full_name = text(subject.get("fullName"), lang) or " ".join(
        filter(None, [text(subject.get("givenName"), lang), text(subject.get("familyName"), lang)])) or None
    homepage = _first(body.get("homepage")).get("contentURL")
    colour = presentation.colour if _COLOUR.fullmatch(presentation.colour) else DEFAULT_COLOUR
    accent = presentation.accent_colour if _COLOUR.fullmatch(presentation.accent_colour) else DEFAULT_ACCENT
    return CredentialView(
        lang=lang, title=title or _("European Digital Credential"), title_lang=title_lang or lang,
        body_name=text(body.get("legalName"), lang) or text(issuer.get("legalName"), lang) or "",
        issuer_name=text(issuer.get("legalName"), lang) or "",
        issuer_id=_first(issuer.get("eIDASIdentifier")).get("notation"),
        colour=colour, accent=accent, logo=_logo(body) or _logo(issuer),
        description=text(claim.get("description") or display.get("description"), lang),
        learner_name=full_name,
        awarded_on=long_date(awarding.get("awardingDate"), lang),
        grade=grade, grade_lang=grade_lang if grade_lang not in ("zxx", "und") else None,
        facts=facts, outcomes=outcomes,
        assessment=text(assessment.get("title"), lang),
        grading_scheme=text(_first(_first(assessment.get("specifiedBy")).get("gradingScheme")).get("title"), lang),
        signatory_name=presentation.signatory_name, signatory_title=signatory_title,
        credential_id=cred.get("id") if isinstance(cred.get("id"), str) else None,
        issued_on=long_date(cred.get("issued") or cred.get("issuanceDate"), lang),
        expires_on=long_date(cred.get("expirationDate"), lang),
        homepage=homepage if isinstance(homepage, str) and homepage.startswith(("https://", "http://")) else None,
        page_url=page_url,
    )


def from_template(template: CourseTemplate, issuer: Issuer, lang: str) -> CredentialView:
    """A template's certificate page without a learner: what every credential of it will show, read
    from the template the way ``from_credential`` reads the credential (same facts, same labels)."""
    _ = translations(lang).gettext
    spec: dict[str, Any] = {"language": [codelists.language_concept(code) for code in template.languages]}
    if template.ects is not None:
        spec["creditPoint"] = [{"framework": {"id": _ECTS}, "point": template.ects}]
    if template.eqf_level is not None:
        spec["eqfLevel"] = {"id": f"{_EQF}{template.eqf_level}"}
    if template.isced_f:
        spec["thematicArea"] = [{"id": f"{_ISCED}{template.isced_f}"}]
    if template.mode:
        spec["mode"] = [{"id": codelists.resolve(template.mode, codelists.MODE_CODES, codelists.modes())}]
    if template.volume_of_learning:
        spec["volumeOfLearning"] = template.volume_of_learning
    if template.learning_setting:
        spec["learningSetting"] = {"id": codelists.resolve(template.learning_setting, codelists.LEARNING_SETTING_CODES,
                                                           codelists.learning_settings())}
    presentation = template.presentation
    title, title_lang = pick(template.title, lang)
    body = template.awarding_body
    logo = body.logo if body.logo and body.logo.startswith("data:image/") else None
    return CredentialView(
        lang=lang, title=title or "", title_lang=title_lang or lang, body_name=text(body.legal_name, lang) or "",
        issuer_name=text(issuer.legal_name, lang) or "", issuer_id=issuer.eidas_identifier,
        colour=presentation.colour, accent=presentation.accent_colour, logo=logo,
        description=text(template.description, lang), facts=_facts(spec, lang),
        outcomes=[Outcome(text(o.text, lang) or "", ()) for o in template.learning_outcomes],
        signatory_name=presentation.signatory_name,
        signatory_title=text(presentation.signatory_title, lang) if presentation.signatory_title else None,
        homepage=body.homepage)


def blank(view: CredentialView) -> CredentialView:
    """The same page without anything that belongs to one learner or one credential (the image base)."""
    view.learner_name = view.awarded_on = view.grade = view.grade_lang = None
    view.credential_id = view.issued_on = view.expires_on = view.page_url = view.qr = None
    return view
