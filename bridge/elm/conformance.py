"""SHACL conformance of ELM credentials, offline, plus a fast guard for bulk issuance.

``shacl_validate`` runs pyshacl with the official EDC shapes (generic-full + generic-no-cv, and
issued-by-mandate when the credential is sealed on another organisation's behalf) against the
credential parsed with the shipped JSON-LD contexts. The shapes graph is parsed once per process.

``ConformanceGuard`` keeps that guarantee at bulk rates; see its docstring.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import pyshacl
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF, SH

from bridge.elm import checks
from bridge.elm.assemble import SCHEMA_ISSUED_BY_MANDATE, assemble
from bridge.elm.completion import Completion
from bridge.elm.issuer import Issuer
from bridge.elm.offline_jsonld import CONTEXT_FILES, UnreadableJsonLd, context_document, graph_for_validation
from bridge.elm.template import CourseTemplate

ELM = Namespace("http://data.europa.eu/snb/model/elm/")
CRED = Namespace("https://www.w3.org/2018/credentials#")
_BASE_SHAPES = ("EDC-generic-no-cv.ttl", "EDC-generic-full.ttl")
_MANDATE_SHAPES = "EDC-issuedByMandate.ttl"


@dataclass(frozen=True)
class ConformanceReport:
    """``messages``: one line per violation, "<where in the JSON> <property>: <problem> (<shape>)"."""

    conforms: bool
    messages: list[str] = field(default_factory=list)


class NonConformant(ValueError):
    """The credential does not conform to the EDC shapes; ``messages`` says where and why."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = list(messages)
        super().__init__("credential does not conform to the EDC shapes: " + "; ".join(self.messages[:5]))


@cache
def shapes_graph(mandate: bool = False) -> Graph:
    """The parsed shapes, cached per process (parsing them costs ~0.15 s)."""
    graph = Graph()
    names = _BASE_SHAPES + ((_MANDATE_SHAPES,) if mandate else ())
    for name in names:
        data = resources.files("bridge.elm").joinpath("data", "shacl", name).read_text("utf-8")
        graph.parse(data=data, format="turtle")
    return graph


_VALIDATE_LOCK = threading.Lock()


def shacl_validate(credential: dict[str, Any]) -> ConformanceReport:
    """Validate one credential (a JSON-LD dict) against the EDC shapes, without network access."""
    if not isinstance(credential, dict):
        return ConformanceReport(False, ["(document): expected a JSON object"])
    try:
        data = graph_for_validation(credential)
    except UnreadableJsonLd as exc:
        return ConformanceReport(False, [str(exc)])
    mandate = _needs_mandate_shapes(data)
    with _VALIDATE_LOCK:  # pyshacl is not documented as thread-safe over a shared shapes graph
        conforms, results, _text = pyshacl.validate(
            data, shacl_graph=shapes_graph(mandate), inference="none", allow_warnings=True
        )
    if conforms:
        return ConformanceReport(True, [])
    return ConformanceReport(False, _messages(results, _json_paths(credential)))


def _needs_mandate_shapes(data: Graph) -> bool:
    """Mandate shapes apply when the credential says so (credentialSchema) or when the issuer is
    not one of the awarding bodies, which is exactly the case EDC-issuedByMandate covers."""
    if (None, CRED.credentialSchema, URIRef(SCHEMA_ISSUED_BY_MANDATE)) in data:
        return True
    issuers = set(data.objects(None, CRED.issuer))
    bodies = set(data.objects(None, ELM.awardingBody))
    return bool(issuers and bodies and not issuers & bodies)


# ---- readable messages --------------------------------------------------------------------------------


@cache
def _terms() -> dict[str, str]:
    """Full property IRI -> JSON term, from the shipped contexts (for readable paths)."""
    out: dict[str, str] = {}

    def walk(ctx: Any) -> None:
        if not isinstance(ctx, dict):
            return
        prefixes = {k: v for k, v in ctx.items() if isinstance(v, str) and v.endswith(("/", "#"))}
        for term, spec in ctx.items():
            iri = spec.get("@id") if isinstance(spec, dict) else spec
            if isinstance(iri, str) and ":" in iri and not term.startswith("@"):
                prefix, _, local = iri.partition(":")
                out.setdefault(prefixes[prefix] + local if prefix in prefixes else iri, term)
            if isinstance(spec, dict):
                walk(spec.get("@context"))

    for url in CONTEXT_FILES:
        walk(context_document(url))
    return out


def _json_paths(document: dict[str, Any]) -> dict[str, str]:
    """Node id -> shortest JSON path where it appears, e.g. ``credentialSubject.hasClaim[0]``."""
    paths: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            ident = node.get("id")
            if isinstance(ident, str):
                here = path or "(credential)"
                if ident not in paths or len(here) < len(paths[ident]):
                    paths[ident] = here
            for key, value in node.items():
                if key != "@context":
                    walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    walk(document, "")
    return paths


_MAILTO = re.compile(r"mailto:[^>\s'\"]+")


def _messages(results: Graph, paths: dict[str, str]) -> list[str]:
    terms = _terms()
    out: list[str] = []

    def describe(result: Any) -> str:
        focus = results.value(result, SH.focusNode)
        where = paths.get(str(focus)) or _MAILTO.sub("mailto:(redacted)", str(focus))
        path = results.value(result, SH.resultPath)
        prop = terms.get(str(path), str(path)) if path is not None else ""
        message = _MAILTO.sub(
            "mailto:(redacted)", str(results.value(result, SH.resultMessage) or "violation")
        )
        shape = results.value(result, SH.sourceShape)
        hint = _shape_hint(shape, results)
        return f"{where}{' ' + prop if prop else ''}: {message}{f' ({hint})' if hint else ''}"

    for result in results.subjects(RDF.type, SH.ValidationResult):
        if (None, SH.detail, result) in results:
            continue  # reported under its parent
        line = describe(result)
        details = [describe(d) for d in results.objects(result, SH.detail)]
        out.append(line + ("; because " + "; ".join(sorted(details)) if details else ""))
    return sorted(out)


def _shape_hint(shape: Any, results: Graph) -> str:
    """The shape's own description; blank-node shapes are only resolvable in the results graph."""
    if shape is None:
        return ""
    for graph in (results, shapes_graph(True)):
        for prop in (SH.description, SH.name, SH.message):
            value = graph.value(shape, prop)
            if value is not None:
                return str(value)
    return ""


# ---- fast guard --------------------------------------------------------------------------------------

_GENERATED_ID = re.compile(
    r"^urn:(?:epass:[A-Za-z]+|credential):"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_DATE_KEYS = {"issued", "issuanceDate", "validFrom", "expirationDate", "awardingDate", "dateOfBirth"}
_TEXT_MAP_KEYS = {"givenName", "familyName", "fullName", "noteLiteral"}
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_XSD_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")


def skeleton(credential: dict[str, Any]) -> tuple[str, list[str]]:
    """The credential with its per-learner values masked, and the typed-check problems found.

    Masked: generated node ids (``urn:epass:…``/``urn:credential:…``, replaced by their order of
    first appearance so id *sharing* stays visible), the learner's ``mailto:`` id, date-times,
    the text of names and grade notes (and the grade note's language), and the learner's page
    images (base64 content of the ``displayDetail`` images). Everything else —
    structure, keys, languages, types, coded values, labels — is kept, so two credentials with the
    same skeleton differ only in values whose SHACL constraints (xsd:dateTime, rdf:langString, IRI
    node) are checked here.
    """
    problems: list[str] = []
    order: dict[str, str] = {}

    def mask_id(value: str, path: str) -> str:
        if _GENERATED_ID.fullmatch(value):
            return order.setdefault(value, f"{value.split(':')[1]}#{len(order)}")
        if value.startswith("mailto:"):
            if not checks.EMAIL_RE.fullmatch(value[7:]):
                problems.append(f"{path}: expected mailto:<email address>")
            return order.setdefault(value, f"mailto#{len(order)}")
        return value

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            sub = f"{path}.{key}" if path else key
            if key == "id" and isinstance(value, str):
                out[key] = mask_id(value, sub)
            elif key in _DATE_KEYS:
                if not _is_datetime(value):
                    problems.append(f"{sub}: expected an xsd:dateTime like 2026-11-20T10:00:00Z")
                out[key] = "<dateTime>"
            elif key == "content" and ".displayDetail" in path:  # the learner's own page image
                if not isinstance(value, str) or not _BASE64.fullmatch(value):
                    problems.append(f"{sub}: expected base64 image content")
                out[key] = "<page image>"
            elif key in _TEXT_MAP_KEYS:
                if not _is_text_map(value):
                    problems.append(f"{sub}: expected a language map of non-empty texts")
                if not isinstance(value, dict):
                    out[key] = "<invalid>"
                elif key == "noteLiteral":  # the grade's language is the learner's too (zxx, und, fr…)
                    out[key] = ["<language>"] * len(value)
                else:
                    out[key] = sorted(value)
            else:
                out[key] = walk(value, sub)
        return out

    masked = walk(credential, "")
    text = json.dumps(masked, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text, problems


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str) or not _XSD_DATETIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_text_map(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(
            isinstance(k, str)
            and checks.LANG_TAG_RE.fullmatch(k)
            and isinstance(v, str)
            and v.strip()
            and not checks.CONTROL_CHARS.search(v)
            for k, v in value.items()
        )
    )


PROBE_COMPLETION = {
    "source": "conformance-probe",
    "course_id": "probe",
    "learner": {"id": "probe", "given_name": "Probe", "family_name": "Learner", "email": "probe@example.org"},
    "grade": {"score": 1, "max": 1},
    "passed": True,
    "completed_at": "2000-01-01T00:00:00Z",
}


class ConformanceGuard:
    """Keeps "every issued credential conforms to the EDC shapes" at bulk issuance rates.

    Full pyshacl costs tens of milliseconds per credential. But for one course template, sealer
    and ESCO labels, credentials differ only in per-learner values: ids derived from the
    credential id, the learner's names and email, date-times and the grade text. The guard
    therefore validates each distinct *skeleton* (see ``skeleton``: the credential with exactly
    those values masked) once with full SHACL, and for later credentials with a known skeleton
    only checks the masked values against the constraints SHACL places on them (xsd:dateTime
    lexical form, non-empty language-tagged strings, well-formed generated ids and mailto IRIs,
    and the same id-sharing pattern). Anything else that differs — a changed title, a missing
    property, another coded value, new ESCO labels, an optional field present or absent — gives a
    new skeleton and so a full SHACL run. Hence a credential passes the fast path only if it is
    identical, up to values of checked type, to one that passed pyshacl.

    ``prepare(template, issuer)`` validates a synthetic probe credential ahead of time (e.g. when a
    template is stored) so even the first real credential takes the fast path. ``strict=True``
    runs pyshacl on every credential; ``sample_every=N`` additionally re-validates every N-th
    credential fully, as a guard against a flaw in this reasoning.
    """

    def __init__(self, *, strict: bool = False, sample_every: int = 0) -> None:
        if sample_every < 0:
            raise ValueError("sample_every must be >= 0")
        self.strict = strict
        self.sample_every = sample_every
        self._known: set[str] = set()
        self._count = 0
        self._lock = threading.Lock()
        self.stats = {"fast": 0, "full": 0}

    def prepare(
        self,
        template: CourseTemplate,
        issuer: Issuer,
        *,
        skill_labels: Any = None,
        with_date_of_birth: bool = False,
    ) -> ConformanceReport:
        """Validate a probe credential for this template and sealer; remember its skeleton."""
        probe = dict(PROBE_COMPLETION)
        if with_date_of_birth:
            probe["learner"] = {**probe["learner"], "date_of_birth": "1990-01-01"}
        credential = assemble(template, Completion.from_dict(probe), issuer, skill_labels=skill_labels)
        report = shacl_validate(credential)
        if report.conforms:
            with self._lock:
                self._known.add(self._digest(skeleton(credential)[0]))
        return report

    def ensure(self, credential: dict[str, Any]) -> str:
        """Return "fast" or "full" (the path taken); raise NonConformant when it does not conform."""
        text, problems = skeleton(credential)
        if problems:
            raise NonConformant(problems)
        digest = self._digest(text)
        with self._lock:
            self._count += 1
            sampled = self.sample_every > 0 and self._count % self.sample_every == 0
            fast = digest in self._known and not self.strict and not sampled
            self.stats["fast" if fast else "full"] += 1
        if fast:
            return "fast"
        report = shacl_validate(credential)
        if not report.conforms:
            raise NonConformant(report.messages)
        with self._lock:
            self._known.add(digest)
        return "full"

    @staticmethod
    def _digest(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
