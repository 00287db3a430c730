"""Plain summary of an ELM v3 credential, for reports, verification pages and emails.

Reads defensively: it must work on this bridge's credentials and on EDC's own (whose claims may
be activities rather than achievements, and whose properties may be single objects or lists),
and must never fail on an unexpected shape — missing parts just come out as None or [].
"""

from __future__ import annotations

from typing import Any

from bridge.elm.codelists import ECTS
from bridge.elm.vocabularies import label as vocabulary_label

_ISCED_PREFIX = "http://data.europa.eu/snb/isced-f/"
_EQF_PREFIX = "http://data.europa.eu/snb/eqf/"


def summarise(credential: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    """Learner, issuer, title, dates and each claim (ECTS, EQF, ISCED-F, ESCO skills, grade)."""
    cred = credential if isinstance(credential, dict) else {}
    subject = _first(cred.get("credentialSubject"))
    issuer = _first(cred.get("issuer"))
    display = _first(cred.get("displayParameter"))
    claims = [_claim(c, lang) for c in _list(subject.get("hasClaim"))]
    title = _text(display.get("title"), lang) or next((c["title"] for c in claims if c["title"]), None)
    eidas = _first(issuer.get("eIDASIdentifier"))
    emails = [
        _str(m.get("id")) for cp in _list(subject.get("contactPoint")) for m in _list(cp.get("emailAddress"))
    ]
    return {
        "id": _str(cred.get("id")),
        "title": title,
        "learner": {
            "name": _text(subject.get("fullName"), lang)
            or " ".join(
                filter(None, [_text(subject.get("givenName"), lang), _text(subject.get("familyName"), lang)])
            )
            or None,
            "email": next((e.removeprefix("mailto:") for e in emails if e and e.startswith("mailto:")), None),
        },
        "issuer": {
            "name": _text(issuer.get("legalName"), lang),
            "eidas_identifier": _str(eidas.get("notation")),
        },
        "issued": _str(cred.get("issued")) or _str(cred.get("issuanceDate")),
        "valid_from": _str(cred.get("validFrom")),
        "expires": _str(cred.get("expirationDate")) or _str(cred.get("validUntil")),
        "achievements": claims,
    }


def _claim(claim: Any, lang: str) -> dict[str, Any]:
    claim = claim if isinstance(claim, dict) else {}
    spec = _first(claim.get("specifiedBy"))
    bodies = [
        _text(_first(b).get("legalName"), lang)
        for a in _list(claim.get("awardedBy"))
        for b in _list(_first(a).get("awardingBody"))
    ]
    ects = next(
        (
            _str(cp.get("point"))
            for cp in _list(spec.get("creditPoint"))
            if _str(_first(cp.get("framework")).get("id")) == ECTS
        ),
        None,
    )
    eqf_uri = _str(_first(spec.get("eqfLevel")).get("id")) or ""
    isced = [
        {"code": uri.removeprefix(_ISCED_PREFIX), "label": _label(t, lang)}
        for t in _list(spec.get("thematicArea"))
        if (uri := _str(t.get("id")) or "").startswith(_ISCED_PREFIX)
    ]
    skills: dict[str, str | None] = {}
    for outcome in _list(spec.get("learningOutcome")):
        for skill in _list(outcome.get("relatedESCOSkill")):
            uri = _str(skill.get("id"))
            if uri:
                skills.setdefault(uri, _text(skill.get("prefLabel"), lang))
    grades = [_text(_first(a.get("grade")).get("noteLiteral"), lang) for a in _list(claim.get("provenBy"))]
    outcomes = [
        {
            "text": _text(outcome.get("title"), lang),
            "esco_skills": [
                {"uri": uri, "label": skills.get(uri)}
                for skill in _list(outcome.get("relatedESCOSkill"))
                if (uri := _str(skill.get("id")))
            ],
        }
        for outcome in _list(spec.get("learningOutcome"))
    ]
    return {
        "type": _type(claim),
        "title": _text(claim.get("title"), lang) or _text(spec.get("title"), lang),
        "awarding_bodies": [b for b in bodies if b],
        "ects": ects,
        "eqf_level": int(eqf_uri.removeprefix(_EQF_PREFIX))
        if eqf_uri.removeprefix(_EQF_PREFIX).isdigit()
        else None,
        "isced_f": isced,
        "esco_skills": [{"uri": uri, "label": label} for uri, label in skills.items()],
        "grade": next((g for g in grades if g), None),
        "learning_outcomes": outcomes,
        "mode": [label for m in _list(spec.get("mode")) if (label := _label(m, lang))],
        "languages": [label for m in _list(spec.get("language")) if (label := _label(m, lang))],
        "learning_setting": _label(_first(spec.get("learningSetting")), lang),
        "volume_of_learning": _str(spec.get("volumeOfLearning")),
        "assessments": [
            {"title": _text(a.get("title"), lang), "grade": _text(_first(a.get("grade")).get("noteLiteral"), lang)}
            for a in _list(claim.get("provenBy"))
        ],
    }


def _label(concept: dict[str, Any], lang: str) -> str | None:
    """A coded value's label in ``lang`` (bridge.elm.vocabularies), else the credential's own prefLabel."""
    return vocabulary_label(_str(concept.get("id")), lang) or _text(concept.get("prefLabel"), lang)


def _list(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [i for i in items if isinstance(i, dict)]


def _first(value: Any) -> dict[str, Any]:
    items = _list(value)
    return items[0] if items else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _type(node: dict[str, Any]) -> str | None:
    kinds = node.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return next((k for k in kinds if isinstance(k, str)), None)


def _text(value: Any, lang: str) -> str | None:
    """Pick ``lang`` from a language map, else English, else any; plain strings pass through."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict | str)), None)
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not value:
        return None
    for key in (lang, "en"):
        if isinstance(value.get(key), str):
            return value[key]
    return next((v for v in value.values() if isinstance(v, str)), None)
