"""A partner's catalogue pages → RDF → learning opportunities checked against LOQ → what ``/catalogue`` shows.

Pages are read as RDF (JSON-LD with the shipped ELM contexts only, never fetched), so a nested
document, a flattened ``@graph`` or several pages read alike. Every ``elm:LearningOpportunity`` with
an IRI is checked with the official LOQ shapes; one that violates them, through any node it reaches
(its provider, its specification, an outcome …), is left out and counted, the rest are kept. What is
kept of each is a plain view (titles and texts as language maps, ECTS, EQF level, languages, mode,
outcomes with ESCO skills), bounded in size, so showing and searching the catalogue never parses RDF.
"""
from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, SKOS

from bridge.catalogue.fetch import Refused
from bridge.elm import codelists
from bridge.elm.learning_opportunity import loq_violations
from bridge.elm.offline_jsonld import UnknownContext, to_graph

ELM = Namespace("http://data.europa.eu/snb/model/elm/")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ROV = Namespace("http://www.w3.org/ns/regorg#")
MAX_TEXT = 4000
MAX_OUTCOMES = 100
MAX_SKILLS = 100
MAX_REACH = 5000
_EQF = re.compile(r"^http://data\.europa\.eu/snb/eqf/([1-8])$")
_LANGUAGE_CODES = {auth: code for code, (auth, *_rest) in codelists.LANGUAGES.items()}
_MODE_CODES = {uri: code for code, uri in codelists.MODE_CODES.items()}
_SETTING_CODES = {uri: code for code, uri in codelists.LEARNING_SETTING_CODES.items()}


@dataclass
class PageRead:
    graph: Graph
    ids: list[str]  # node ids in the order the page gives them (the feed's order)
    next_url: str | None


def read_page(body: bytes) -> PageRead:
    """One page as RDF; :class:`Refused` when it is not JSON-LD readable with the ELM contexts."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused("a page is not UTF-8") from None
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Refused("a page is not JSON") from None
    if not isinstance(document, dict | list):
        raise Refused("a page is not a JSON-LD document")
    if _has_import(document):
        raise Refused("a page's context imports another context")
    try:
        graph = to_graph(document if isinstance(document, dict) else {"@graph": document})
    except UnknownContext:
        raise Refused("a page uses a JSON-LD context other than ELM's") from None
    except RecursionError:
        raise Refused("a page is nested too deeply") from None
    except Exception as exc:  # rdflib raises many types on malformed JSON-LD
        raise Refused(f"a page is not readable JSON-LD ({type(exc).__name__})") from None
    following = graph.value(predicate=HYDRA.next)
    return PageRead(graph, _ids(document), str(following) if isinstance(following, URIRef) else None)


def _no_constant(name: str) -> None:
    raise ValueError(name)


def _has_import(node: Any) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "@import" in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _ids(document: Any) -> list[str]:
    found: list[str] = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in ("id", "@id"):
                if isinstance(item.get(key), str):
                    found.append(item[key])
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found


@dataclass
class Checked:
    views: list[dict[str, Any]] = field(default_factory=list)
    left_out: int = 0
    problems: list[str] = field(default_factory=list)  # property names of the violations (never values)


def opportunities(graph: Graph) -> list[URIRef | BNode]:
    return list(graph.subjects(RDF.type, ELM.LearningOpportunity, unique=True))


def check(graph: Graph, order: list[str]) -> Checked:
    """The learning opportunities of ``graph`` that conform to LOQ, as views in feed order."""
    violations = loq_violations(graph)
    failing = {focus for focus, _path in violations}
    rank = {iri: i for i, iri in reversed(list(enumerate(order)))}
    out = Checked(problems=sorted({path for _focus, path in violations if path}))
    kept: list[tuple[int, str, dict[str, Any]]] = []
    for node in opportunities(graph):
        if not isinstance(node, URIRef) or _reach(graph, node) & failing:
            out.left_out += 1
            continue
        kept.append((rank.get(str(node), len(rank)), str(node), view(graph, node)))
    out.views = [v for _rank, _iri, v in sorted(kept, key=lambda item: (item[0], item[1]))]
    return out


def _reach(graph: Graph, start: URIRef) -> set[Any]:
    seen: set[Any] = {start}
    queue = deque([start])
    while queue and len(seen) < MAX_REACH:
        for obj in graph.objects(queue.popleft()):
            if isinstance(obj, URIRef | BNode) and obj not in seen:
                seen.add(obj)
                queue.append(obj)
    return seen


def _texts(graph: Graph, node: Any, predicate: URIRef) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in graph.objects(node, predicate):
        if isinstance(value, Literal):
            out.setdefault((value.language or "").lower(), str(value)[:MAX_TEXT])
    return out


def _first(graph: Graph, node: Any, predicate: URIRef) -> Any:
    return next(iter(sorted(graph.objects(node, predicate), key=str)), None)


def _http(value: Any) -> str | None:
    text = str(value) if value is not None else ""
    return text if text.startswith(("http://", "https://")) and len(text) <= 2048 else None


def view(graph: Graph, node: URIRef) -> dict[str, Any]:
    """What the catalogue shows and searches of one learning opportunity."""
    spec = _first(graph, node, ELM.learningAchievementSpecification)
    provider = _first(graph, node, ELM.providedBy)
    homepage = _first(graph, node, FOAF.homepage)
    provider_home = _first(graph, provider, FOAF.homepage) if provider is not None else None
    ects = None
    for credit in graph.objects(spec, ELM.creditPoint) if spec is not None else ():
        if str(graph.value(credit, ELM.framework)) == codelists.ECTS:
            try:
                ects = float(str(graph.value(credit, ELM.point)))
            except ValueError:
                ects = None
    eqf = None
    for level in [*graph.objects(spec, ELM.educationLevel), *graph.objects(spec, ELM.EQFLevel)] if spec else []:
        match = _EQF.match(str(level))
        if match:
            eqf = int(match.group(1))
    languages: list[str] = []
    # RDF keeps no order: the default language first, then the others alphabetically.
    for concept in [*sorted(graph.objects(node, ELM.defaultLanguage), key=str),
                    *sorted(graph.objects(spec, DCTERMS.language) if spec is not None else (), key=str)]:
        auth = str(concept).rsplit("/", 1)[-1]
        code = _LANGUAGE_CODES.get(auth, auth.lower()[:8])
        if code not in languages:
            languages.append(code)
    mode = _first(graph, node, ELM.mode) or (_first(graph, spec, ELM.mode) if spec is not None else None)
    setting = _first(graph, spec, ELM.learningSetting) if spec is not None else None
    outcomes = []
    for outcome in sorted(graph.objects(spec, ELM.learningOutcome), key=str)[:MAX_OUTCOMES] if spec else []:
        skills = [{"uri": str(s), "labels": _texts(graph, s, SKOS.prefLabel)}
                  for s in sorted(graph.objects(outcome, ELM.relatedESCOSkill), key=str)[:MAX_SKILLS]
                  if isinstance(s, URIRef)]
        outcomes.append({"text": _texts(graph, outcome, DCTERMS.title), "skills": skills})
    volume = _first(graph, spec, ELM.volumeOfLearning) if spec is not None else None
    return {
        "iri": str(node),
        "title": _texts(graph, node, DCTERMS.title) or (_texts(graph, spec, DCTERMS.title) if spec else {}),
        "description": _texts(graph, node, DCTERMS.description),
        "homepage": _http(graph.value(homepage, ELM.contentUrl)) if homepage is not None else None,
        "provider": {"name": _texts(graph, provider, ROV.legalName) if provider is not None else {},
                     "homepage": _http(graph.value(provider_home, ELM.contentUrl))
                     if provider_home is not None else None},
        "ects": ects,
        "eqf_level": eqf,
        "languages": languages,
        "mode": _MODE_CODES.get(str(mode)) if mode is not None else None,
        "mode_labels": _texts(graph, mode, SKOS.prefLabel) if mode is not None else {},
        "learning_setting": _SETTING_CODES.get(str(setting)) if setting is not None else None,
        "volume_of_learning": str(volume)[:64] if volume is not None else None,
        "outcomes": outcomes,
    }
