"""Compiled course templates: issuance at bulk rates, byte-identical to ``assemble`` + ``json.dumps``.

For one course template, sealer, ESCO labels and learning-opportunity link, credentials differ only
in per-learner values (the ConformanceGuard docstring makes the same observation). Compiling
assembles a probe credential whose per-learner values are unmistakable sentinels, validates it with
full pyshacl, and cuts its compact JSON text into fixed byte fragments around those values. Rendering
then only checks the values with the typed checks ConformanceGuard applies to them, JSON-escapes
them, and joins. Compilation ends by rendering fresh probes and comparing them with ``assemble`` byte
for byte, so a change in ``assemble`` that this compiler cannot follow fails loudly at compile time
rather than producing a different credential.

Conformance is guaranteed by construction: a rendered credential is the exact text of an
``assemble`` output whose skeleton (structure, coded values, labels) passed pyshacl, with only
values of checked type substituted — ConformanceGuard's fast-path argument, without walking a dict.

Two variants are compiled (and validated): with and without the learner's date of birth, because
its presence changes the skeleton.
"""

from __future__ import annotations

import json
import operator
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from bridge.elm import checks
from bridge.elm.assemble import (
    NODE_ID_BITS,
    NODE_ID_MASK,
    SkillLabels,
    _credential_uuid,
    _dt,
    _grade_text,
    _primary_language,
    assemble,
    display_languages,
    node_id_constant,
    node_uuid,
)
from bridge.elm.completion import Completion
from bridge.elm.conformance import ConformanceGuard, NonConformant, shacl_validate
from bridge.elm.display_image import LearnerImages
from bridge.elm.errors import Collector
from bridge.elm.issuer import Issuer
from bridge.elm.template import CourseTemplate

__all__ = ["CompiledTemplate", "CompiledTemplates", "CompileError", "Rendered"]


class CompileError(RuntimeError):
    """The template cannot be compiled (its probe does not conform, or assemble is not reproducible)."""


@dataclass(frozen=True)
class Rendered:
    """One credential: its UTF-8 JSON text, and that text JSON-string-escaped (without the quotes).

    The escaped form is what a JWS JSON ``payload`` member holds; handing it to
    ``sealer.jades.bulk.JadesSealer.seal(..., escaped=...)`` saves escaping 20 KB per seal.
    """

    payload: bytes
    escaped: bytes


# Slot names; ids are "id:<kind>#<n>" (assemble's node_uuid name for that node).
_CRED, _GIVEN, _FAMILY, _FULL, _EMAIL = "cred", "given", "family", "full", "email"
_COMPLETED, _ISSUED, _EXPIRES, _GRADE, _DOB = "completed", "issued", "expires", "grade", "dob"
_GRADE_LANG = "grade-lang"
_IMAGE = "image:"  # + language: the learner's certificate page (base64 PNG, bridge.elm.display_image)
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_EPASS_ID = re.compile(rf"urn:epass:([A-Za-z]+):({_UUID})")

# Sentinels: valid values (the probe must pass Completion.from_dict and SHACL) that cannot occur in
# template text by accident; a collision would still be caught by the verification renders.
_PROBE_UUID = uuid.UUID("0c0ffee0-5e17-4e1a-9b0b-c0a1e5ce0001")
_PROBE = {
    "source": "compiled-probe",
    "course_id": "probe",
    "learner": {
        "id": "probe",
        "given_name": "Qzgivenzq",
        "family_name": "Qzfamilyzq",
        "email": "qzmailzq@probe.example",
    },
    "grade": {"text": "Qzgradezq", "language": "qz-Qzlangzq"},
    "passed": True,
    "completed_at": "1913-03-05T07:09:11Z",
}
_PROBE_DOB = "1911-11-11"
_PROBE_ISSUED = datetime(1917, 2, 4, 6, 8, 10, tzinfo=UTC)
# Verification probes: other values everywhere, including every character JSON must escape (names hold no
# control characters or line breaks, so the grade text carries those).
_CHECKS = [
    {
        "source": "verify-a",
        "course_id": "c-1",
        "learner": {
            "id": "a",
            "given_name": 'Zoë "Q" \\ </script> 😀',
            "family_name": "O'Brien-Łukasz",
            "email": "x.y+z@sub.example.org",
        },
        "grade": {"score": 87.5, "max": 100, "text": "Très\tbien\u2028\n\"Q\" \\", "language": "fr"},
        "passed": True,
        "completed_at": "2025-12-31T23:59:59+01:00",
    },
    {
        "source": "verify-c",
        "course_id": "c-3",
        "learner": {"id": "c", "given_name": "Ana", "family_name": "Sá", "email": "c@example.org"},
        "grade": {"score": 12, "max": 20},
        "passed": True,
        "completed_at": "2026-06-30T08:00:00Z",
    },
    {
        "source": "verify-d",
        "course_id": "c-4",
        "learner": {"id": "d", "given_name": "Jan", "family_name": "Nowak", "email": "d@example.org"},
        "grade": {"text": "Sehr gut"},
        "passed": True,
        "completed_at": "2026-06-30T08:00:00Z",
    },
    {
        "source": "verify-b",
        "course_id": "c-2",
        "learner": {"id": "b", "given_name": "名", "family_name": "姓\u00a0", "email": "b@example.org"},
        "passed": False,
        "completed_at": "2024-02-29T12:00:00Z",
    },
]
_CHECK_ISSUED = datetime(2026, 1, 31, 23, 0, 0, tzinfo=UTC)


def _escape(text: str) -> str:
    """JSON string escaping exactly as json.dumps(ensure_ascii=False) does it, without the quotes.

    Escaping is per character, so escape(a + b) == escape(a) + escape(b): that is what lets
    values be escaped on their own and joined with pre-escaped fragments.
    """
    return encode_basestring(text)[1:-1]


# A UUID's text is its 32 hex digits in groups 8-4-4-4-12: (start, end) of each group.
_GROUPS = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))


class _NodeIds:
    """The node ids of one credential in one pass: assemble's ``node_uuid(credential uuid, "<kind>#<n>")``.

    Each id is the credential uuid XOR a constant of its name, with the version bits set. The
    credential's 128 bits are repeated across one big integer (a multiplication by 1 + 2^128 + ...),
    XORed with all the constants at once, masked, and hex-encoded at once; the 8-4-4-4-12 groups are
    cut out with one itemgetter (the dashes live in the template fragments). Block 0 is the
    credential uuid itself.
    """

    def __init__(self, names: list[str]) -> None:
        blocks = len(names) + 1
        self._repeat = sum(1 << (128 * b) for b in range(blocks))
        self._constants = self._mask = self._bits = 0
        for block, name in enumerate([None, *names]):
            shift = 128 * (blocks - 1 - block)  # block 0 is the most significant: it prints first
            if name is None:
                self._mask |= ((1 << 128) - 1) << shift
            else:
                self._constants |= node_id_constant(name) << shift
                self._mask |= NODE_ID_MASK << shift
                self._bits |= NODE_ID_BITS << shift
        self._digits = 32 * blocks
        spans = [slice(32 * b + lo, 32 * b + hi) for b in range(blocks) for lo, hi in _GROUPS]
        self._cut = operator.itemgetter(*spans)

    def groups(self, credential: uuid.UUID) -> tuple[bytes, ...]:
        """The 5 hex groups of the credential uuid, then of each node id, in ``names`` order."""
        value = ((credential.int * self._repeat ^ self._constants) & self._mask) | self._bits
        return self._cut(b"%0*x" % (self._digits, value))


_UUID_SLOTS = (_CRED, "id:")


class _Variant:
    """The JSON text of one skeleton, cut into fixed fragments around the slots (per-learner values).

    A uuid becomes five slots (its hex groups) with the dashes kept in the fragments.
    """

    def __init__(self, text: str, tokens: dict[str, str]) -> None:
        pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
        fragments: list[str] = []
        self.slots: list[str] = []
        last = 0
        for match in pattern.finditer(text):
            fragments.append(text[last : match.start()])
            slot = tokens[match.group(0)]
            if slot.startswith(_UUID_SLOTS):
                self.slots += [f"{slot}/{g}" for g in range(len(_GROUPS))]
                fragments += ["-"] * (len(_GROUPS) - 1)
            else:
                self.slots.append(slot)
            last = match.end()
        fragments.append(text[last:])
        self._plain = _template([f.encode("utf-8") for f in fragments])
        self._escaped = _template([_escape(f).encode("utf-8") for f in fragments])
        self._pick: Callable[[tuple[bytes, ...]], tuple[bytes, ...]] = lambda values: ()

    def bind(self, names: list[str]) -> None:
        """Map slots to indexes of the per-render value tuple, which is built in ``names`` order."""
        index = {name: i for i, name in enumerate(names)}
        positions = [index[s] for s in self.slots]
        pick = operator.itemgetter(*positions)
        self._pick = pick if len(positions) > 1 else (lambda values: (pick(values),))

    def plain(self, values: tuple[bytes, ...]) -> bytes:
        """The credential text with ``values`` in its slots."""
        out = list(self._plain)
        out[1::2] = self._pick(values)
        return b"".join(out)

    def escaped(self, escaped_values: tuple[bytes, ...]) -> bytes:
        """The same, JSON-string-escaped, from the escaped values."""
        out = list(self._escaped)
        out[1::2] = self._pick(escaped_values)
        return b"".join(out)


def _template(fragments: list[bytes]) -> list[bytes]:
    """Fragments at the even positions, placeholders for the values at the odd ones."""
    out = [b""] * (2 * len(fragments) - 1)
    out[0::2] = fragments
    return out


class CompiledTemplate:
    """One (template, issuer, ESCO labels, learning-opportunity link), compiled for fast rendering.

    Build with :meth:`compile`. Rendering keeps no state, so one instance serves all threads.
    """

    def __init__(
        self, variants: dict[bool, _Variant], id_names: list[str], template: CourseTemplate, labels: dict[str, Any],
        images: LearnerImages,
    ) -> None:
        self._variants = variants
        self._ids = _NodeIds(id_names)
        self._valid_for = template.valid_for
        self._primary = _primary_language(template)
        self._needs_grade = any(_GRADE in v.slots for v in variants.values())
        self._graded = template.assessment is not None
        self._images = images
        self._image_languages = display_languages(template)
        self.labels = labels
        uuids = [_CRED, *(f"id:{n}" for n in id_names)]
        names = [f"{u}/{g}" for u in uuids for g in range(len(_GROUPS))]
        names += [_GIVEN, _FAMILY, _FULL, _EMAIL, _COMPLETED, _ISSUED, _EXPIRES, _GRADE, _GRADE_LANG, _DOB]
        names += [f"{_IMAGE}{lang}" for lang in self._image_languages]
        for variant in variants.values():
            variant.bind(names)

    @classmethod
    def compile(
        cls,
        template: CourseTemplate,
        issuer: Issuer,
        *,
        skill_labels: SkillLabels | None = None,
        learning_opportunity: str | None = None,
        guard: ConformanceGuard | None = None,
    ) -> CompiledTemplate:
        """Assemble and validate the probes (full pyshacl, or ``guard.ensure``, which also lets the
        guard remember both skeletons), cut them, then prove the cut reproduces ``assemble``.

        ``skill_labels`` is called once per skill here; ``labels`` keeps the answers so a cache can
        tell when they change. Raises ValidationFailed as ``assemble`` does (e.g. a skill without
        labels), NonConformant when the template's credentials do not conform to the EDC shapes,
        and CompileError when ``assemble``'s output cannot be reproduced.
        """
        labels = {uri: skill_labels(uri) for uri in template.esco_skill_uris} if skill_labels else {}
        options: dict[str, Any] = {"skill_labels": labels.get}
        if learning_opportunity is not None:
            options["learning_opportunity"] = learning_opportunity

        def text(doc: dict[str, Any], credential_id: str, issued: datetime) -> str:
            credential = assemble(
                template, Completion.from_dict(doc), issuer, credential_id=credential_id, issued=issued, **options
            )
            if doc["source"] == _PROBE["source"]:
                _validate(credential, guard)
            return json.dumps(credential, ensure_ascii=False, separators=(",", ":"))

        texts = {dob: text(_with_dob(_PROBE, dob), str(_PROBE_UUID), _PROBE_ISSUED) for dob in (None, _PROBE_DOB)}
        from bridge.documents.page_raster import template_images

        images = template_images(template, issuer, display_languages(template))
        probe = Completion.from_dict(_PROBE)
        primary = _primary_language(template)
        probe_images = images.render(probe.learner.full_name, probe.completed_at,
                                     _grade_text(probe, primary)[_PROBE["grade"]["language"]]
                                     if template.assessment else None)
        image_tokens = {data.decode("ascii"): f"{_IMAGE}{lang}" for lang, data in probe_images.items()}
        tokens, id_names = _tokens(list(texts.values()), template, image_tokens)
        variants = {dob is not None: _Variant(t, tokens) for dob, t in texts.items()}
        used = {slot for variant in variants.values() for slot in variant.slots}
        compiled = cls(variants, [n for n in id_names if f"id:{n}/0" in used], template, labels, images)

        for i, doc in enumerate(_CHECKS):
            credential_id = str(uuid.uuid5(_PROBE_UUID, f"check#{i}"))
            for dob in (None, "1999-12-31"):
                probe = _with_dob(doc, dob)
                expected = text(probe, credential_id, _CHECK_ISSUED).encode("utf-8")
                rendered = compiled.render_pair(
                    Completion.from_dict(probe), credential_id=credential_id, issued=_CHECK_ISSUED
                )
                if rendered.payload != expected or rendered.escaped != _escape(expected.decode()).encode():
                    raise CompileError(
                        "the compiled template does not reproduce assemble() for this template; "
                        "issue through assemble() and ConformanceGuard instead"
                    )
        return compiled

    def labels_current(self, skill_labels: SkillLabels | None) -> bool:
        """Whether ``skill_labels`` still answers what this was compiled with."""
        if skill_labels is None:
            return not self.labels
        return all(skill_labels(uri) == value for uri, value in self.labels.items())

    def render(
        self, completion: Completion, *, credential_id: str | None = None, issued: datetime | None = None
    ) -> bytes:
        """The credential as compact UTF-8 JSON: exactly ``json.dumps(assemble(...), ensure_ascii=False,
        separators=(",", ":"))`` for the same arguments. Raises ValidationFailed naming the field when
        a per-learner value fails the typed checks that keep the credential conformant."""
        variant, values, _escaped = self._values(completion, credential_id, issued)
        return variant.plain(values)

    def render_pair(
        self, completion: Completion, *, credential_id: str | None = None, issued: datetime | None = None
    ) -> Rendered:
        """Like :meth:`render`, plus the JSON-string-escaped text for the JWS ``payload`` member."""
        variant, values, escaped = self._values(completion, credential_id, issued)
        return Rendered(variant.plain(values), variant.escaped(escaped))

    def sample(self) -> Rendered:
        """A credential of this template for the probe learner (sentinel values, no personal data).

        It shares every byte but the per-learner values with the real ones, e.g. for compressing them.
        """
        probe = Completion.from_dict(_PROBE)
        return self.render_pair(probe, credential_id=str(_PROBE_UUID), issued=_PROBE_ISSUED)

    def _values(
        self, completion: Completion, credential_id: str | None, issued: datetime | None
    ) -> tuple[_Variant, tuple[bytes, ...], tuple[bytes, ...]]:
        """The variant for this learner and its slot values (plain and escaped), after the checks."""
        c = Collector()
        cred_uuid = _credential_uuid(c, completion, credential_id)
        learner = completion.learner
        given = _text(c, "learner.given_name", learner.given_name)
        family = _text(c, "learner.family_name", learner.family_name)
        email = learner.email
        if not isinstance(email, str) or not checks.EMAIL_RE.fullmatch(email):
            c.add("learner.email", "expected an email address like name@example.org")
        completed = completion.completed_at
        if not isinstance(completed, datetime):
            c.add("completed_at", "expected a date-time with time zone")
        born = learner.date_of_birth
        if born is not None and (not isinstance(born, date) or isinstance(born, datetime)):
            c.add("learner.date_of_birth", "expected a date")
        if issued is not None and not isinstance(issued, datetime):
            c.add("issued", "expected a date-time")
        grade = _grade(c, completion, self._primary) if self._needs_grade else (b"", b"", b"", None)
        c.raise_if_any()
        assert cred_uuid is not None and given is not None and family is not None and grade is not None

        issued_at = (issued or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        expires = _dt(checks.add_duration(issued_at, self._valid_for)).encode() if self._valid_for else b""
        ids = self._ids.groups(cred_uuid)
        tail = (email.encode(), _dt(completed).encode(), _dt(issued_at).encode(), expires)
        dob = f"{born.isoformat()}T00:00:00Z".encode() if born is not None else b""
        rendered = self._images.render(f"{learner.given_name} {learner.family_name}", completed,
                                       grade[3] if self._graded else None)
        images = tuple(rendered[lang] for lang in self._image_languages)  # base64: nothing to escape
        values = (*ids, given[0], family[0], given[0] + b" " + family[0], *tail, grade[0], grade[2], dob, *images)
        escaped = (*ids, given[1], family[1], given[1] + b" " + family[1], *tail, grade[1], grade[2], dob, *images)
        return self._variants[born is not None], values, escaped


class CompiledTemplates:
    """A bounded per-process cache of compiled templates, for the issuing pipeline.

    ``key`` is the caller's name for one template version, e.g. ``(source, course_id, version)``;
    the issuer and the learning-opportunity link are added to it here, and an entry is compiled
    again when ``skill_labels`` answers differently from when it was compiled.
    """

    def __init__(self, maxsize: int = 256, *, guard: ConformanceGuard | None = None) -> None:
        self.maxsize = maxsize
        self.guard = guard
        self._entries: OrderedDict[Hashable, CompiledTemplate] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        key: Hashable,
        template: Callable[[], CourseTemplate],
        issuer: Issuer,
        *,
        skill_labels: SkillLabels | None = None,
        learning_opportunity: str | None = None,
    ) -> CompiledTemplate:
        """The compiled template for ``key``; ``template()`` is only called when (re)compiling."""
        full_key = (key, _issuer_key(issuer), learning_opportunity)
        with self._lock:
            compiled = self._entries.get(full_key)
            if compiled is not None:
                self._entries.move_to_end(full_key)
        if compiled is not None and compiled.labels_current(skill_labels):
            return compiled
        compiled = CompiledTemplate.compile(
            template(), issuer, skill_labels=skill_labels, learning_opportunity=learning_opportunity, guard=self.guard
        )
        with self._lock:
            self._entries[full_key] = compiled
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self._entries)


def _issuer_key(issuer: Issuer) -> Hashable:
    return (issuer.eidas_identifier, tuple(sorted(issuer.legal_name.items())), issuer.country, issuer.homepage)


def _with_dob(doc: dict[str, Any], dob: str | None) -> dict[str, Any]:
    if dob is None:
        return doc
    return {**doc, "learner": {**doc["learner"], "date_of_birth": dob}}


def _validate(credential: dict[str, Any], guard: ConformanceGuard | None) -> None:
    if guard is not None:
        guard.ensure(credential)
        return
    report = shacl_validate(credential)
    if not report.conforms:
        raise NonConformant(report.messages)


def _tokens(texts: list[str], template: CourseTemplate,
            images: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Sentinel text -> slot name, and the node-id names ("<kind>#<n>") in a fixed order.

    ``images``: the probe's page images (base64) -> their slots; they hold the probe's sentinel
    name, so no other credential has them.
    """
    learner = _PROBE["learner"]
    tokens = {
        **images,
        str(_PROBE_UUID): _CRED,
        f"{learner['given_name']} {learner['family_name']}": _FULL,
        learner["given_name"]: _GIVEN,
        learner["family_name"]: _FAMILY,
        learner["email"]: _EMAIL,
        _PROBE["completed_at"]: _COMPLETED,
        _dt(_PROBE_ISSUED): _ISSUED,
        _PROBE["grade"]["text"]: _GRADE,
        _PROBE["grade"]["language"]: _GRADE_LANG,
        f"{_PROBE_DOB}T00:00:00Z": _DOB,
    }
    if template.valid_for:
        # With a zero duration this equals the issued token, which renders the same text.
        tokens.setdefault(_dt(checks.add_duration(_PROBE_ISSUED, template.valid_for)), _EXPIRES)
    counts: dict[str, int] = {}
    for text in texts:
        for match in _EPASS_ID.finditer(text):
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    id_names = [f"{kind}#{n}" for kind, count in counts.items() for n in range(1, count + 1)]
    for name in id_names:
        tokens[str(node_uuid(_PROBE_UUID, name))] = f"id:{name}"
    for text in texts:
        for match in _EPASS_ID.finditer(text):
            if match.group(2) not in tokens:
                raise CompileError(f"node id urn:epass:{match.group(1)}:… is not derived from the credential id")
    return tokens, id_names


def _text(c: Collector, field: str, value: Any) -> tuple[bytes, bytes] | None:
    """A language-map text after ConformanceGuard's checks (non-empty, no control characters):
    its JSON escape, and that escaped again (for the JWS payload string), both UTF-8."""
    if not isinstance(value, str) or not value.strip() or checks.CONTROL_CHARS.search(value):
        c.add(field, "expected a non-empty text without control characters")
        return None
    once = _escape(value)
    try:
        return once.encode(), _escape(once).encode()
    except UnicodeEncodeError:
        c.add(field, "expected text without unpaired surrogate characters")
        return None


def _grade(c: Collector, completion: Completion, primary: str) -> tuple[bytes, bytes, bytes, str] | None:
    """The grade note as assemble writes it (its text, plain and escaped, its language tag, and the
    text itself for the page image), after type checks on what it is made of."""
    grade = completion.grade
    if grade is not None:
        for name in ("score", "max"):
            value = getattr(grade, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                c.add(f"grade.{name}", "expected a number")
                return None
        if grade.text is not None and not isinstance(grade.text, str):
            c.add("grade.text", "expected a text")
            return None
    [(language, note)] = _grade_text(completion, primary).items()
    if not isinstance(language, str) or not checks.LANG_TAG_RE.fullmatch(language):
        c.add("grade.language", "expected a language tag like fr")
        return None
    text = _text(c, "grade", note)
    return None if text is None else (*text, language.encode(), note)
