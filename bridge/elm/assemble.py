"""Assemble an ELM v3 ``EuropeanDigitalCredential`` (JSON-LD) from a template and a completion.

The output follows what EDC itself builds (reference sample Sample-CertOfPart-unsigned.jsonld):
both @contexts, coded values as full skos Concepts, a DisplayParameter with a page image, and
``issued`` + ``issuer.eIDASIdentifier`` which sealing requires. Node ids are derived from the
credential id with UUIDv5, so the same inputs always give byte-identical JSON (re-sending and
re-sealing are reproducible) while nodes of different credentials never share an id.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from bridge.elm import checks, codelists
from bridge.elm.completion import Completion
from bridge.elm.display_image import placeholder_png_base64
from bridge.elm.errors import Collector
from bridge.elm.issuer import Issuer
from bridge.elm.template import CourseTemplate, Organisation

__all__ = ["assemble", "Issuer", "SkillLabels", "CONTEXTS", "SCHEMA_GENERIC_FULL", "SCHEMA_ISSUED_BY_MANDATE"]

SkillLabels = Callable[[str], dict[str, str] | None]
CONTEXTS = ["https://www.w3.org/2018/credentials/v1", "http://data.europa.eu/snb/model/context/edc-ap"]
SCHEMA_GENERIC_FULL = "http://data.europa.eu/snb/model/ap/edc-generic-full"
SCHEMA_ISSUED_BY_MANDATE = "http://data.europa.eu/snb/model/ap/edc-issued-by-mandate"
# EDC's wording for credentials sealed on behalf of the awarding body (Sample-CertOfPart-signed.jsonld).
MANDATE_STATEMENT = (
    "Every claim inside this credential is to be construed as having been made by the indicated awarding "
    "body, who maintains sole responsibility for said claim. By applying its electronic seal, the signing "
    "organisation certifies the correctness of origin of each claim, as having been made by the indicated "
    "awarding body."
)
_PASSED = {
    "en": "Passed",
    "fr": "Réussi",
    "de": "Bestanden",
    "es": "Aprobado",
    "it": "Superato",
    "nl": "Geslaagd",
    "pt": "Aprovado",
}
_COMPLETED = {
    "en": "Completed",
    "fr": "Terminé",
    "de": "Abgeschlossen",
    "es": "Completado",
    "it": "Completato",
    "nl": "Voltooid",
    "pt": "Concluído",
}


def assemble(
    template: CourseTemplate,
    completion: Completion,
    issuer: Issuer,
    *,
    credential_id: str | None = None,
    issued: datetime | None = None,
    skill_labels: SkillLabels | None = None,
    learning_opportunity: str | None = None,
    page_images: bool = True,
) -> dict[str, Any]:
    """Build the unsigned credential.

    ``credential_id`` is ``urn:credential:<uuid>`` or a bare UUID; by default it is derived from
    (source, course, learner) so a repeated completion yields the same credential. ``issued``
    defaults to now (UTC, whole seconds). ``skill_labels(uri)`` returns ESCO prefLabels (the ESCO
    service); labels written in the template are the fallback. ``learning_opportunity``: the IRI of
    the course's published LearningOpportunity (``bridge.elm.learning_opportunity.opportunity_url``),
    linked from the achievement. Raises ValidationFailed when a skill has no label from either, or
    ``credential_id`` is malformed. ``page_images=False`` puts a placeholder where each language's
    certificate page image goes (``bridge.elm.display_image``), for documents that never show it.
    """
    c = Collector()
    cred_uuid = _credential_uuid(c, completion, credential_id)
    skills = _skill_concepts(c, template, skill_labels)
    c.raise_if_any()
    assert cred_uuid is not None
    ids = _Ids(cred_uuid)
    issued_at = (issued or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    primary = _primary_language(template)
    mandated = not issuer.represents(template.awarding_body)

    body = _organisation(ids, "awardingBody", template.awarding_body)
    awarding = {
        "id": ids("awardingProcess"),
        "type": "AwardingProcess",
        "awardingBody": [body],
        "awardingDate": _dt(completion.completed_at),
    }
    achievement: dict[str, Any] = {
        "id": ids("learningAchievement"),
        "type": "LearningAchievement",
        "title": dict(template.title),
    }
    if template.description:
        achievement["description"] = dict(template.description)
    achievement["awardedBy"] = awarding
    if template.assessment:
        achievement["provenBy"] = [_assessment(ids, template, completion, awarding, primary)]
    achievement["specifiedBy"] = _specification(ids, template, skills)
    if learning_opportunity:
        achievement["learningOpportunity"] = _opportunity_link(learning_opportunity, template, body, achievement)

    credential: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": f"urn:credential:{cred_uuid}",
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialProfiles": [_profile(template)],
        "displayParameter": _display(ids, template, primary,
                                     _page_images(template, completion, issuer, primary) if page_images else {}),
        "credentialSchema": [{"id": SCHEMA_GENERIC_FULL, "type": "ShaclValidator2017"}],
        "credentialSubject": _person(ids, completion, primary, achievement),
    }
    if mandated:
        credential["credentialSchema"].append({"id": SCHEMA_ISSUED_BY_MANDATE, "type": "ShaclValidator2017"})
        credential["evidence"] = [
            {
                "id": ids("evidence"),
                "type": "Evidence",
                "evidenceStatement": MANDATE_STATEMENT,
                "dcType": codelists.mandate_evidence_type(),
            }
        ]
    credential["issuanceDate"] = _dt(issued_at)
    credential["issued"] = _dt(issued_at)
    credential["issuer"] = _issuer(ids, issuer, body, mandated)
    credential["validFrom"] = _dt(completion.completed_at)
    if template.valid_for:
        credential["expirationDate"] = _dt(checks.add_duration(issued_at, template.valid_for))
    return credential


def _opportunity_link(
    iri: str, template: CourseTemplate, body: dict[str, Any], achievement: dict[str, Any]
) -> dict[str, Any]:
    """The course's published LearningOpportunity (its catalogue IRI), so a receiving institution can
    look the course up. Organisation and specification are node references to the nodes already in
    the credential, which keeps the credential small and the two descriptions identical."""
    return {
        "id": iri,
        "type": "LearningOpportunity",
        "title": dict(template.title),
        "providedBy": [{"id": body["id"]}],
        "learningAchievementSpecification": {"id": achievement["specifiedBy"]["id"]},
    }


# Node ids are UUIDs of version 8 (RFC 9562: derived by the application's own rule).
NODE_ID_MASK = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
NODE_ID_BITS = (0x8 << 76) | (0x2 << 62)


@lru_cache(maxsize=1024)
def node_id_constant(name: str) -> int:
    """The 128-bit constant of node name ``<kind>#<n>`` (a hash of the name: fixed for all credentials)."""
    return int.from_bytes(hashlib.sha256(b"edc-bridge node id\0" + name.encode("utf-8")).digest()[:16])


def node_uuid(base: uuid.UUID, name: str) -> uuid.UUID:
    """The id of node ``name`` in the credential ``base``: base XOR the name's constant, version 8.

    Distinct names give distinct ids within a credential, and distinct credentials distinct ids for
    a name (XOR with a constant is a bijection); for random credential ids, ids of different names in
    different credentials collide with probability 2^-122. One XOR instead of one SHA-1 per node is
    what lets the compiled renderer derive all of a credential's ids with one big-integer operation.
    """
    return uuid.UUID(int=((base.int ^ node_id_constant(name)) & NODE_ID_MASK) | NODE_ID_BITS)


class _Ids:
    """Per-credential node ids: ``urn:epass:<kind>:<node_uuid(credential, kind#n)>``."""

    def __init__(self, cred_uuid: uuid.UUID) -> None:
        self.base = cred_uuid
        self.counts: dict[str, int] = {}

    def __call__(self, kind: str) -> str:
        n = self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"urn:epass:{kind}:{node_uuid(self.base, f'{kind}#{n}')}"


_NAMESPACE = uuid.UUID("5b0f3a52-8d0e-4c7e-9a57-6f6a4ad0e1c3")


def _credential_uuid(c: Collector, completion: Completion, credential_id: str | None) -> uuid.UUID | None:
    if credential_id is None:
        key = f"{completion.source}\n{completion.course_id}\n{completion.learner.id}"
        return uuid.uuid5(_NAMESPACE, key)
    raw = credential_id.removeprefix("urn:credential:") if isinstance(credential_id, str) else ""
    try:
        return uuid.UUID(raw)
    except ValueError:
        c.add("credential_id", "expected urn:credential:<uuid> or a UUID")
        return None


def _dt(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _primary_language(template: CourseTemplate) -> str:
    """The display language: the first language of instruction the title is written in."""
    return next((lang for lang in template.languages if lang in template.title), next(iter(template.title)))


def _profile(template: CourseTemplate) -> dict[str, Any]:
    uri = codelists.resolve(
        template.credential_profile, codelists.CREDENTIAL_PROFILE_CODES, codelists.credential_types()
    )
    assert uri is not None
    return codelists.credential_types().concept(uri)


def display_languages(template: CourseTemplate) -> list[str]:
    """The languages the credential is displayed in: the primary one first, then the title's others."""
    primary = _primary_language(template)
    return [primary] + [lang for lang in template.title if lang != primary]


def grade_note(template: CourseTemplate, completion: Completion, primary: str) -> str | None:
    """The grade note's text as the credential states it (None without an assessment)."""
    return next(iter(_grade_text(completion, primary).values())) if template.assessment else None


def _page_images(template: CourseTemplate, completion: Completion, issuer: Issuer, primary: str) -> dict[str, str]:
    """The learner's certificate page in each display language (base64 PNG)."""
    from bridge.documents.page_raster import template_images

    images = template_images(template, issuer, display_languages(template))
    rendered = images.render(completion.learner.full_name, completion.completed_at,
                             grade_note(template, completion, primary))
    return {lang: data.decode("ascii") for lang, data in rendered.items()}


def _display(ids: _Ids, template: CourseTemplate, primary: str, images: dict[str, str]) -> dict[str, Any]:
    languages = display_languages(template)
    individual = []
    for lang in languages:
        image = {
            "id": ids("mediaObject"),
            "type": "MediaObject",
            "content": images.get(lang) or placeholder_png_base64(),
            "contentEncoding": codelists.base64_encoding_concept(),
            "contentType": codelists.file_type_concept("PNG"),
        }
        individual.append(
            {
                "id": ids("individualDisplay"),
                "type": "IndividualDisplay",
                "language": codelists.language_concept(lang),
                "displayDetail": [
                    {"id": ids("displayDetail"), "type": "DisplayDetail", "image": image, "page": 1}
                ],
            }
        )
    display: dict[str, Any] = {
        "id": ids("displayParameter"),
        "type": "DisplayParameter",
        "title": dict(template.title),
        "language": [codelists.language_concept(lang) for lang in languages],
        "primaryLanguage": codelists.language_concept(primary),
        "individualDisplay": individual,
    }
    if template.description:
        display["description"] = dict(template.description)
    return display


def _person(ids: _Ids, completion: Completion, primary: str, achievement: dict[str, Any]) -> dict[str, Any]:
    learner = completion.learner
    person: dict[str, Any] = {
        "id": ids("person"),
        "type": "Person",
        "givenName": {primary: learner.given_name},
        "familyName": {primary: learner.family_name},
        "fullName": {primary: learner.full_name},
    }
    if learner.date_of_birth:
        person["dateOfBirth"] = f"{learner.date_of_birth.isoformat()}T00:00:00Z"
    person["contactPoint"] = [
        {
            "id": ids("contactPoint"),
            "type": "ContactPoint",
            "emailAddress": [{"id": f"mailto:{learner.email}", "type": "Mailbox"}],
        }
    ]
    person["hasClaim"] = [achievement]
    return person


# BCP 47 tags for a grade note: no linguistic content (a score alone), and undetermined language.
NO_LANGUAGE, UNDETERMINED = "zxx", "und"


def _grade_text(completion: Completion, primary: str) -> dict[str, str]:
    """The grade note, tagged with the language it is written in.

    A score alone ("87.5/100") has no language (``zxx``); the LMS's grade text is tagged with
    ``grade.language`` when the LMS says it, else as undetermined (``und``) — never with the course's
    language, which it may not be written in. The "Passed"/"Completed" fallback is ours, in the
    credential's primary language.
    """
    grade = completion.grade
    parts = []
    if grade and grade.score is not None:
        parts.append(f"{_num(grade.score)}/{_num(grade.max)}" if grade.max is not None else _num(grade.score))
    if grade and grade.text:
        parts.append(f"({grade.text})" if parts else grade.text)
        return {grade.language or UNDETERMINED: " ".join(parts)}
    if parts:
        return {NO_LANGUAGE: parts[0]}
    table = _PASSED if completion.passed else _COMPLETED
    return {primary: table.get(primary, table["en"])}


def _num(value: float | None) -> str:
    return "" if value is None else (str(int(value)) if float(value).is_integer() else repr(float(value)))


def _assessment(
    ids: _Ids, template: CourseTemplate, completion: Completion, awarding: dict[str, Any], primary: str
) -> dict[str, Any]:
    spec = template.assessment
    assert spec is not None
    specification: dict[str, Any] = {
        "id": ids("learningAssessmentSpec"),
        "type": "LearningAssessmentSpecification",
        "title": dict(spec.title),
        "dcType": codelists.assessment_types().concept(spec.type_uri),
    }
    if spec.grading_scheme:
        specification["gradingScheme"] = {
            "id": ids("gradingScheme"),
            "type": "GradingScheme",
            "title": dict(spec.grading_scheme),
        }
    return {
        "id": ids("learningAssessment"),
        "type": "LearningAssessment",
        "title": dict(spec.title),
        "grade": {"id": ids("note"), "type": "Note", "noteLiteral": _grade_text(completion, primary)},
        "awardedBy": awarding,
        "specifiedBy": specification,
    }


def _specification(ids: _Ids, template: CourseTemplate, skills: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """LearningAchievementSpecification; a (partial) Qualification when an EQF level is given,
    because ELM v3 defines EQFLevel on Qualification only (rdfs:domain elm:Qualification)."""
    is_qualification = template.eqf_level is not None
    spec: dict[str, Any] = {
        "id": ids("learningAchievementSpec"),
        "type": "Qualification" if is_qualification else "LearningAchievementSpecification",
        "title": dict(template.title),
    }
    if template.description:
        spec["description"] = dict(template.description)
    if template.ects is not None:
        spec["creditPoint"] = [
            {
                "id": ids("creditPoint"),
                "type": "CreditPoint",
                "framework": codelists.credit_frameworks().concept(codelists.ECTS),
                "point": _num(template.ects),
            }
        ]
    if is_qualification:
        spec["eqfLevel"] = codelists.eqf().concept(codelists.eqf().by_code(str(template.eqf_level)) or "")
        spec["isPartialQualification"] = True
    if template.isced_f:
        isced = codelists.isced_f()
        spec["thematicArea"] = [isced.concept(isced.by_code(template.isced_f) or "")]
    if template.mode:
        uri = codelists.resolve(template.mode, codelists.MODE_CODES, codelists.modes())
        spec["mode"] = [codelists.modes().concept(uri or "")]
    spec["language"] = [codelists.language_concept(lang) for lang in template.languages]
    if template.learning_setting:
        uri = codelists.resolve(
            template.learning_setting, codelists.LEARNING_SETTING_CODES, codelists.learning_settings()
        )
        spec["learningSetting"] = codelists.learning_settings().concept(uri or "")
    if template.volume_of_learning:
        spec["volumeOfLearning"] = template.volume_of_learning
    if template.learning_outcomes:  # optional in the shapes: a course may have no ESCO-tagged outcome
        spec["learningOutcome"] = [
            {
                "id": ids("learningOutcome"),
                "type": "LearningOutcome",
                "title": dict(outcome.text),
                "relatedESCOSkill": [skills[s.uri] for s in outcome.esco_skills],
            }
            for outcome in template.learning_outcomes
        ]
    return spec


def _skill_concepts(
    c: Collector, template: CourseTemplate, skill_labels: SkillLabels | None
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i, outcome in enumerate(template.learning_outcomes):
        for j, skill in enumerate(outcome.esco_skills):
            if skill.uri in out:
                continue
            labels = skill_labels(skill.uri) if skill_labels else None
            labels = {k: v for k, v in (labels or {}).items() if _is_lang_label(k, v)} or skill.labels
            if not labels:
                c.add(
                    f"learning_outcomes[{i}].esco_skills[{j}]",
                    "no ESCO label known for this skill: the ESCO service does not know it and the "
                    'template gives no {"uri", "labels"} object',
                )
                continue
            out[skill.uri] = codelists.concept(skill.uri, codelists.ESCO_SKILL_SCHEME, labels)
    return out


def _is_lang_label(key: Any, value: Any) -> bool:
    return (
        isinstance(key, str)
        and checks.LANG_TAG_RE.fullmatch(key) is not None
        and isinstance(value, str)
        and bool(value.strip())
    )


def _location(ids: _Ids, country: str) -> list[dict[str, Any]]:
    return [
        {
            "id": ids("location"),
            "type": "Location",
            "address": {
                "id": ids("address"),
                "type": "Address",
                "countryCode": codelists.country_concept(country),
            },
        }
    ]


def _legal_id(ids: _Ids, notation: str, country: str) -> dict[str, Any]:
    return {
        "id": ids("legalIdentifier"),
        "type": "LegalIdentifier",
        "notation": notation,
        "spatial": codelists.country_concept(country),
    }


def _organisation(ids: _Ids, kind: str, org: Organisation) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": ids("org"),
        "type": "Organisation",
        "legalName": dict(org.legal_name),
        "location": _location(ids, org.country),
        "registration": _legal_id(ids, org.legal_identifier, org.country),
    }
    if org.vat_identifier:
        node["vatIdentifier"] = [_legal_id(ids, org.vat_identifier, org.country)]
    if org.homepage:
        node["homepage"] = [{"id": ids("webResource"), "type": "WebResource", "contentURL": org.homepage}]
    if org.email:
        node["contactPoint"] = [
            {
                "id": ids("contactPoint"),
                "type": "ContactPoint",
                "emailAddress": [{"id": f"mailto:{org.email}", "type": "Mailbox"}],
            }
        ]
    if org.logo and org.logo.startswith("data:"):
        # https logos are not fetched (assembly stays offline and deterministic); ELM's MediaObject
        # needs the content itself, so such a logo is left out.
        kind_raw = checks.image_data_url(Collector(), "logo", org.logo)
        if kind_raw:
            kind, _raw = kind_raw
            node["logo"] = {
                "id": ids("mediaObject"),
                "type": "MediaObject",
                "content": org.logo.split(",", 1)[1].strip(),
                "contentEncoding": codelists.base64_encoding_concept(),
                "contentType": codelists.file_type_concept(kind),
            }
    return node


def _issuer(ids: _Ids, issuer: Issuer, body: dict[str, Any], mandated: bool) -> dict[str, Any]:
    eidas = _legal_id(ids, issuer.eidas_identifier, issuer.identifier_country)
    if not mandated:
        return {**body, "eIDASIdentifier": eidas}
    node: dict[str, Any] = {
        "id": ids("org"),
        "type": "Organisation",
        "legalName": dict(issuer.legal_name),
        "eIDASIdentifier": eidas,
        "location": _location(ids, issuer.country),
    }
    if issuer.homepage:
        node["homepage"] = [{"id": ids("webResource"), "type": "WebResource", "contentURL": issuer.homepage}]
    return node
