"""Publish a course template as an ELM ``LearningOpportunity`` (JSON-LD) for the course catalogue.

The ECCOE guide asks institutions to publish each micro-credential's course with its learning
outcomes linked to ESCO, so that learners and recognising institutions can see what a credential
stands for before and after it is issued. The catalogue document is built from the same template,
and with the same node builders, as the credentials (:mod:`bridge.elm.assemble`), so a course page
and the credentials issued for it can never describe different outcomes, ECTS or skills.

The output targets the official QDR "LOQ" application profile (``LOQ-constraints.ttl`` and its
controlled-vocabulary companion ``LOQ-constraints-mdr.ttl``), which differs from the credential
profile in two ways that shape this module:

* LOQ's ``Qualification`` requires an NQF level, which a MOOC template does not have, and LOQ's
  ``LearningAchievementSpecification`` is closed and has no ``EQFLevel``. The specification is
  therefore published as a ``LearningAchievementSpecification`` whose EQF level is given as its
  ``educationLevel`` (an education level "within a semantic framework": the EQF concept).
* Every property is one the EDC JSON-LD context defines, so nothing is dropped when a partner
  expands the document: ``defaultLanguage`` (required by LOQ) has no term there and is written as
  the compact IRI ``elm:defaultLanguage``; the last modification is the context's ``dateModified``
  (``dc:modified``), given as a typed ``xsd:dateTime`` value because the context's term coerces its
  values to IRIs (a plain date string would become a relative IRI and vanish from the RDF, and LOQ
  wants a date-time). The local context only aliases ``id``/``type`` to the keywords, which the
  EDC context leaves to the W3C credentials context.

LOQ ships its ``LearningAchievementSpecification`` shape deactivated (``sh:deactivated true``), so
for the specification itself the MDR vocabulary checks (ISCED-F, language, learning setting) apply,
and the shapes of the nodes inside it (outcomes, credit points, concepts, organisations) as usual.

``LOQ-constraints-mdr.ttl`` restricts the ``skos:inScheme`` of ESCO skills to the pattern
``^https://ec.europa.eu/esco/skill/``, which no real ESCO skill matches: ESCO publishes its skills in
``http://data.europa.eu/esco/concept-scheme/skills``, which the EDC credential shapes require. That
one restriction is left out of :func:`loq_validate`; every other LOQ and MDR constraint applies.
"""

from __future__ import annotations

import re
import threading
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote

import pyshacl
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF, SH

from bridge.elm import codelists
from bridge.elm.assemble import CONTEXTS, SkillLabels, _Ids, _organisation, _skill_concepts, _specification
from bridge.elm.errors import Collector
from bridge.elm.offline_jsonld import UnreadableJsonLd, graph_for_validation
from bridge.elm.template import CourseTemplate

__all__ = ["DEFAULT_LANGUAGE", "LoqReport", "learning_opportunity", "loq_validate", "loq_violations", "opportunity_url",
           "page_url"]

EDC_CONTEXT = CONTEXTS[1]
# The EDC context relies on the W3C credentials context for the "id"/"type" keyword aliases; a
# LearningOpportunity is not a credential, so it declares them itself.
LOCAL_TERMS = {"id": "@id", "type": "@type"}
DEFAULT_LANGUAGE = "elm:defaultLanguage"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
_LOQ_MDR = Namespace("http://data.europa.eu/snb/model/ap/loq-constraints-mdr/")
_LOQ_SHAPES = ("LOQ-constraints.ttl", "LOQ-constraints-mdr.ttl")
_NAMESPACE = uuid.UUID("0d3c4c8e-4f43-4d55-9b6e-4c1f1a7a2f10")


def opportunity_url(base_url: str, source: str, course_id: str) -> str:
    """The stable IRI of a course's LearningOpportunity document, also its JSON-LD ``id``.

    Source and course id are percent-encoded as one path segment each, so an LMS course id such as
    ``course-v1:Org+X+2026`` or one holding ``/`` cannot change the shape of the URL.
    """
    return f"{base_url.rstrip('/')}/catalogue/{_segment(source)}/{_segment(course_id)}.jsonld"


def page_url(base_url: str, source: str, course_id: str) -> str:
    """The human-readable catalogue page of the course (the LearningOpportunity's homepage)."""
    return f"{base_url.rstrip('/')}/catalogue/{_segment(source)}/{_segment(course_id)}"


def _segment(value: str) -> str:
    return quote(value, safe="")


def learning_opportunity(
    template: CourseTemplate,
    *,
    base_url: str,
    source: str,
    course_id: str,
    modified: datetime | None = None,
    skill_labels: SkillLabels | None = None,
) -> dict[str, Any]:
    """The LearningOpportunity JSON-LD document of one course.

    Node ids are UUIDv5 of the document IRI, so republishing an unchanged template gives identical
    JSON. ``skill_labels(uri)`` gives ESCO labels (the ESCO service); labels written in the template
    are the fallback. Raises ``ValidationFailed`` when a skill has no label from either.
    """
    iri = opportunity_url(base_url, source, course_id)
    c = Collector()
    skills = _skill_concepts(c, template, skill_labels)
    c.raise_if_any()
    ids = _Ids(uuid.uuid5(_NAMESPACE, iri))
    spec = _specification(ids, template, skills)
    if spec["type"] == "Qualification":
        eqf = spec.pop("eqfLevel")
        spec.pop("isPartialQualification", None)
        spec["type"] = "LearningAchievementSpecification"
        spec["educationLevel"] = [eqf]
    primary = next((lang for lang in template.languages if lang in template.title), template.languages[0])
    document: dict[str, Any] = {
        "@context": [EDC_CONTEXT, dict(LOCAL_TERMS)],
        "id": iri,
        "type": "LearningOpportunity",
        "title": dict(template.title),
    }
    if template.description:
        document["description"] = dict(template.description)
    document["homepage"] = [
        {"id": ids("webResource"), "type": "WebResource", "contentURL": page_url(base_url, source, course_id)}
    ]
    if "mode" in spec:
        document["mode"] = list(spec["mode"])
    document["providedBy"] = [_organisation(ids, "providedBy", template.awarding_body)]
    document[DEFAULT_LANGUAGE] = codelists.language_concept(primary)
    document["learningAchievementSpecification"] = spec
    if modified is not None:
        document["dateModified"] = {"@value": iso_utc(modified), "@type": XSD_DATETIME}
    return document


def iso_utc(moment: datetime) -> str:
    """``2026-11-20T10:00:00Z``: UTC, to the second (``Last-Modified`` has the same resolution)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class LoqReport:
    """``messages``: one line per violation, "<node> <property>: <problem>"."""

    conforms: bool
    messages: list[str] = field(default_factory=list)


@cache
def _loq_shapes() -> Graph:
    graph = Graph()
    for name in _LOQ_SHAPES:
        data = resources.files("bridge.elm").joinpath("data", "shacl", name).read_text("utf-8")
        graph.parse(data=data, format="turtle")
    # The one MDR restriction no real ESCO skill can meet (see the module docstring).
    for prop in list(graph.subjects(SH.node, _LOQ_MDR.EscoSkillRestriction)):
        for owner in list(graph.subjects(SH.property, prop)):
            graph.remove((owner, SH.property, prop))
    # QDR's URL patterns are written for Java (\p{L} classes, a mid-pattern (?i)), which Python's
    # re cannot compile; each sits in an sh:and beside an RFC 3986 pattern that still applies.
    for shape, pattern in list(graph.subject_objects(SH.pattern)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # Java's nested classes look odd to re
                re.compile(str(pattern))
        except re.error:
            graph.remove((shape, SH.pattern, pattern))
    return graph


_LOCK = threading.Lock()


def loq_validate(document: dict[str, Any]) -> LoqReport:
    """Validate a LearningOpportunity document against the official LOQ shapes, offline."""
    try:
        data = graph_for_validation(document)
    except UnreadableJsonLd as exc:
        return LoqReport(False, [str(exc)])
    conforms, results = _validate(data)
    if conforms:
        return LoqReport(True)
    messages = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        text = results.value(result, SH.resultMessage)
        messages.append(f"{focus} {_local(path)}: {text}")
    return LoqReport(False, sorted(messages))


def loq_violations(data: Graph) -> list[tuple[Any, str]]:
    """(focus node, property name) of every LOQ violation in an RDF graph (e.g. a harvested catalogue)."""
    conforms, results = _validate(data)
    if conforms:
        return []
    return [(results.value(r, SH.focusNode), _local(results.value(r, SH.resultPath)))
            for r in results.subjects(RDF.type, SH.ValidationResult)]


def _validate(data: Graph) -> tuple[bool, Graph]:
    with _LOCK:
        conforms, results, _text = pyshacl.validate(data, shacl_graph=_loq_shapes(), inference="none")
    return bool(conforms), results


def _local(path: Any) -> str:
    if not isinstance(path, URIRef):
        return "" if path is None else str(path)
    return str(path).rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
