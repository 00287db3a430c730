"""CompiledTemplate: byte-identical to assemble() + json.dumps, typed checks, conformance, cache."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from bridge.elm import compiled as compiled_module
from bridge.elm.assemble import assemble
from bridge.elm.compiled import CompiledTemplate, CompiledTemplates, CompileError
from bridge.elm.completion import Completion, Grade
from bridge.elm.conformance import ConformanceGuard, NonConformant, shacl_validate
from bridge.elm.errors import ValidationFailed
from bridge.elm.issuer import Issuer
from bridge.elm.template import CourseTemplate
from sealer.jades import dumps, seal_jades
from sealer.jades.bulk import JadesSealer
from sealer.keys import Pkcs12KeySource
from sealer.keys.devseal import create_dev_seal
from sealer.validation import validate_seal

from .helpers import ADAPT_TO_CHANGE, ISSUED, PROVIDER, SAME_ORG, load_example
from .test_template import PNG_1PX

MINIMAL = {
    "title": {"fr": "Agilité au travail", "en": "Workplace agility"},
    "learning_outcomes": [{"text": {"en": "Adapt to change"}, "esco_skills": [ADAPT_TO_CHANGE]}],
    "languages": ["fr"],
    "awarding_body": {"legal_name": {"en": "Agile Academy"}, "legal_identifier": "0123.456.789", "country": "BE"},
    "valid_for": "P1Y6M",
}
LABELS = {ADAPT_TO_CHANGE: {"en": "adapt to change", "fr": "s'adapter au changement"}}
HAS_OPPORTUNITY_LINK = "learning_opportunity" in inspect.signature(assemble).parameters


def _example(**changes: Any) -> CourseTemplate:
    doc = load_example("course-template.json")
    doc.update(changes)
    return CourseTemplate.from_dict(doc)


def _logo_template() -> CourseTemplate:
    doc = load_example("course-template.json")
    doc["awarding_body"]["logo"] = f"data:image/png;base64,{PNG_1PX}"
    doc["assessment"].pop("grading_scheme")
    doc["description"] = None
    return CourseTemplate.from_dict(doc)


CASES = {
    "example-self-sealed": lambda: (_example(), SAME_ORG, {}),
    "example-mandate": lambda: (_example(valid_for="P2Y"), PROVIDER, {}),
    "minimal-no-assessment": lambda: (CourseTemplate.from_dict(MINIMAL), SAME_ORG, {"skill_labels": LABELS.get}),
    "logo-no-description": lambda: (_logo_template(), PROVIDER, {}),
}


@pytest.fixture(scope="module")
def compiled_cases() -> dict[str, tuple[CourseTemplate, Any, dict[str, Any], CompiledTemplate]]:
    out = {}
    for name, make in CASES.items():
        template, issuer, options = make()
        out[name] = (template, issuer, options, CompiledTemplate.compile(template, issuer, **options))
    return out


# ---- randomised equality ------------------------------------------------------------------------------

PIECES = ['"', "\\", "'", "é", "ß", "Ł", "名", "😀", "\u2028", "\u00a0", "\t", "\n", "\r", "</script>", "{}", "%s"]


LINE_BREAKING = {"\u2028", "\t", "\n", "\r"}  # refused in names (single-line fields), kept in grade texts


def _random_name(rng: random.Random, *, single_line: bool = True) -> str:
    length = rng.choice([1, 3, 12, 60, 199])
    pieces = [p for p in PIECES if not (single_line and p in LINE_BREAKING)]
    chars = [rng.choice(pieces) if rng.random() < 0.3 else rng.choice("abcdefXYZ -.") for _ in range(length)]
    text = "".join(chars)[:200].strip()
    return text if text else "A"


def _random_completion(rng: random.Random) -> dict[str, Any]:
    learner: dict[str, Any] = {
        "id": str(rng.randrange(10**9)),
        "given_name": _random_name(rng),
        "family_name": _random_name(rng),
        "email": rng.choice(["a@example.org", "first.last+tag@sub.univ.example", "o'neil@x.example.com"]),
    }
    if rng.random() < 0.5:
        learner["date_of_birth"] = (date(1950, 1, 1) + timedelta(days=rng.randrange(20000))).isoformat()
    grade = rng.choice(
        [
            None,
            {"score": rng.randrange(101), "max": 100},
            {"score": rng.randrange(1000) / 8, "max": 125.5, "text": _random_name(rng, single_line=False)},
            {"text": _random_name(rng, single_line=False)},
            {"score": 0, "max": 20, "text": "Très bien"},
        ]
    )
    offset = timezone(timedelta(minutes=rng.choice([0, 60, -300, 330])))
    moment = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(200_000_000))
    doc = {
        "source": rng.choice(["moodle-main", "edx.prod", "x_1"]),
        "course_id": rng.choice(["42", "course-v1:Org+X+2026", "a/b"]),
        "learner": learner,
        "passed": rng.random() < 0.7,
        "completed_at": moment.astimezone(offset).isoformat(),
    }
    if grade is not None:
        doc["grade"] = grade
    return doc


def _dumps(credential: dict[str, Any]) -> bytes:
    return json.dumps(credential, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@pytest.mark.parametrize("case", list(CASES))
def test_render_equals_assemble_bytes_for_random_completions(compiled_cases, case: str) -> None:
    template, issuer, options, compiled = compiled_cases[case]
    rng = random.Random(f"compiled-{case}")
    with_dob = 0
    for _ in range(120):
        completion = Completion.from_dict(_random_completion(rng))
        with_dob += completion.learner.date_of_birth is not None
        issued = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8), microseconds=1234)
        credential_id = rng.choice([None, str(uuid.UUID(int=rng.getrandbits(128))), f"urn:credential:{uuid.uuid4()}"])
        expected = _dumps(assemble(template, completion, issuer, credential_id=credential_id, issued=issued, **options))
        rendered = compiled.render_pair(completion, credential_id=credential_id, issued=issued)
        assert rendered.payload == expected
        # The escaped form is what json.dumps puts inside the JWS payload string.
        assert rendered.escaped == json.dumps(expected.decode("utf-8"), ensure_ascii=False)[1:-1].encode("utf-8")
    assert 20 < with_dob < 100  # both variants were exercised


def test_issued_defaults_to_now(compiled_cases) -> None:
    _template, _issuer, _options, compiled = compiled_cases["example-self-sealed"]
    before = datetime.now(UTC).replace(microsecond=0)
    credential = json.loads(compiled.render(Completion.from_dict(load_example("completion.json"))))
    issued = datetime.fromisoformat(credential["issued"].replace("Z", "+00:00"))
    assert before <= issued <= datetime.now(UTC)
    assert credential["issuanceDate"] == credential["issued"]


@pytest.mark.skipif(not HAS_OPPORTUNITY_LINK, reason="assemble() has no learning_opportunity yet")
def test_learning_opportunity_link_is_rendered_too() -> None:
    template = _example()
    link = "https://bridge.example/api/v1/opportunities/moodle-main/42"
    compiled = CompiledTemplate.compile(template, SAME_ORG, learning_opportunity=link)
    completion = Completion.from_dict(load_example("completion.json"))
    expected = assemble(template, completion, SAME_ORG, issued=ISSUED, learning_opportunity=link)
    assert compiled.render(completion, issued=ISSUED) == _dumps(expected)
    assert link in compiled.render(completion).decode()


def test_fast_path_seal_equals_the_reference_seal(tmp_path) -> None:
    """render_pair + JadesSealer gives the very file assemble + json.dumps + seal_jades gives."""
    seal = create_dev_seal(tmp_path)
    key = Pkcs12KeySource(seal.pkcs12_path, seal.password)
    issuer = Issuer.from_certificate(key.certificate)
    template = _example()
    compiled = CompiledTemplate.compile(template, issuer)
    sealer = JadesSealer(key)
    doc = load_example("completion.json")
    doc["learner"]["given_name"] = 'Zoë "Q" \\ 😀'
    completion = Completion.from_dict(doc)
    rendered = compiled.render_pair(completion, issued=ISSUED)
    now = datetime.now(UTC)  # the dev seal certificate starts today
    sealed = sealer.seal(rendered.payload, escaped=rendered.escaped, signing_time=now)
    reference = _dumps(assemble(template, completion, issuer, issued=ISSUED))
    assert sealed == dumps(seal_jades(reference, key, signing_time=now))
    report = validate_seal(sealed)
    assert report.signature_intact and report.errors == [], report.errors
    assert report.payload == reference


# ---- conformance --------------------------------------------------------------------------------------


def test_rendered_credentials_conform_to_the_edc_shapes(compiled_cases) -> None:
    _template, _issuer, _options, compiled = compiled_cases["example-mandate"]
    doc = load_example("completion.json")
    doc["learner"].update(given_name='Zoë "Q" \\', family_name="名 😀")
    for completion in (doc, {**doc, "learner": {k: v for k, v in doc["learner"].items() if k != "date_of_birth"}}):
        report = shacl_validate(json.loads(compiled.render(Completion.from_dict(completion), issued=ISSUED)))
        assert report.conforms, report.messages


def test_a_shared_guard_learns_both_skeletons() -> None:
    guard = ConformanceGuard()
    template = _example()
    compiled = CompiledTemplate.compile(template, SAME_ORG, guard=guard)
    assert guard.stats == {"fast": 0, "full": 2}
    doc = load_example("completion.json")
    for completion in (doc, {**doc, "learner": {**doc["learner"], "date_of_birth": None}}):
        assert guard.ensure(json.loads(compiled.render(Completion.from_dict(completion)))) == "fast"


def test_a_template_whose_credentials_do_not_conform_is_refused(monkeypatch) -> None:
    """The probe goes through real pyshacl: a credential without issuer never gets compiled."""
    real = compiled_module.assemble

    def issuerless(*args, **kwargs):
        credential = real(*args, **kwargs)
        del credential["issuer"]
        return credential

    monkeypatch.setattr(compiled_module, "assemble", issuerless)
    with pytest.raises(NonConformant):
        CompiledTemplate.compile(_example(), SAME_ORG)


def test_missing_esco_labels_are_refused_like_assemble() -> None:
    with pytest.raises(ValidationFailed) as info:
        CompiledTemplate.compile(CourseTemplate.from_dict(MINIMAL), SAME_ORG)
    assert info.value.errors[0].field == "learning_outcomes[0].esco_skills[0]"


def test_an_assemble_it_cannot_reproduce_fails_the_compile(monkeypatch) -> None:
    """If assemble() put a per-learner value somewhere the compiler does not know, compile refuses."""
    real = compiled_module.assemble

    def leaky(template, completion, issuer, **kwargs):
        credential = real(template, completion, issuer, **kwargs)
        note = credential["credentialSubject"]["hasClaim"][0]["provenBy"][0]["grade"]["noteLiteral"]
        for lang in note:
            note[lang] += f" ({completion.course_id})"
        return credential

    monkeypatch.setattr(compiled_module, "assemble", leaky)
    with pytest.raises(CompileError, match="does not reproduce"):
        CompiledTemplate.compile(_example(), SAME_ORG)


# ---- typed checks -------------------------------------------------------------------------------------


def _bad(completion: Completion, **learner: Any) -> Completion:
    return dataclasses.replace(completion, learner=dataclasses.replace(completion.learner, **learner))


BAD = [
    (lambda c: _bad(c, given_name="Eve\x00"), "learner.given_name", "Eve\x00"),
    (lambda c: _bad(c, family_name="   "), "learner.family_name", None),
    (lambda c: _bad(c, family_name=7), "learner.family_name", None),
    (lambda c: _bad(c, given_name="lone \ud800 surrogate"), "learner.given_name", None),
    (lambda c: _bad(c, email="not-an-address"), "learner.email", "not-an-address"),
    (lambda c: _bad(c, email="eve@example.org\n"), "learner.email", None),
    (lambda c: _bad(c, email='eve"@example.org'), "learner.email", None),
    (lambda c: _bad(c, date_of_birth="2001-04-02"), "learner.date_of_birth", None),
    (lambda c: dataclasses.replace(c, completed_at="2026-11-20T10:00:00Z"), "completed_at", None),
    (lambda c: dataclasses.replace(c, grade=Grade(score=1, max=2, text="ok\x1b[31m")), "grade", None),
    (lambda c: dataclasses.replace(c, grade=Grade(score="87", max=100)), "grade.score", None),
]


@pytest.mark.parametrize(("spoil", "field", "secret"), BAD)
def test_values_that_would_break_conformance_are_refused(compiled_cases, spoil, field: str, secret) -> None:
    _template, _issuer, _options, compiled = compiled_cases["example-self-sealed"]
    completion = spoil(Completion.from_dict(load_example("completion.json")))
    with pytest.raises(ValidationFailed) as info:
        compiled.render(completion, issued=ISSUED)
    assert [e.field for e in info.value.errors] == [field]
    if secret:
        assert secret not in str(info.value)


@pytest.mark.parametrize("spoil", [BAD[0][0], BAD[4][0], BAD[9][0]])
def test_the_guard_refuses_the_same_values(compiled_cases, spoil) -> None:
    """The typed checks are the guard's: what render refuses, ConformanceGuard refuses too."""
    template, issuer, _options, _compiled = compiled_cases["example-self-sealed"]
    credential = assemble(template, spoil(Completion.from_dict(load_example("completion.json"))), issuer)
    with pytest.raises(NonConformant):
        ConformanceGuard().ensure(credential)


@pytest.mark.parametrize("bad", ["urn:credential:nope", "", "urn:epass:org:5b0f3a52-8d0e-4c7e-9a57-6f6a4ad0e1c3"])
def test_malformed_credential_id_is_named(compiled_cases, bad: str) -> None:
    _template, _issuer, _options, compiled = compiled_cases["example-self-sealed"]
    with pytest.raises(ValidationFailed) as info:
        compiled.render(Completion.from_dict(load_example("completion.json")), credential_id=bad)
    assert [e.field for e in info.value.errors] == ["credential_id"]


def test_issued_must_be_a_datetime(compiled_cases) -> None:
    _template, _issuer, _options, compiled = compiled_cases["example-self-sealed"]
    with pytest.raises(ValidationFailed) as info:
        compiled.render(Completion.from_dict(load_example("completion.json")), issued="2026-01-01")
    assert [e.field for e in info.value.errors] == ["issued"]


# ---- cache --------------------------------------------------------------------------------------------


def test_cache_compiles_once_per_key_and_again_when_labels_change() -> None:
    cache = CompiledTemplates(maxsize=2)
    built: list[str] = []
    labels = copy.deepcopy(LABELS)

    def template() -> CourseTemplate:
        built.append("minimal")
        return CourseTemplate.from_dict(MINIMAL)

    first = cache.get(("src", "c1", 1), template, SAME_ORG, skill_labels=labels.get)
    assert cache.get(("src", "c1", 1), template, SAME_ORG, skill_labels=labels.get) is first
    assert built == ["minimal"]
    labels[ADAPT_TO_CHANGE] = {"en": "adapt to changes"}
    second = cache.get(("src", "c1", 1), template, SAME_ORG, skill_labels=labels.get)
    assert second is not first and len(built) == 2
    completion = Completion.from_dict(load_example("completion.json"))
    assert "adapt to changes" in second.render(completion).decode()
    assert cache.get(("src", "c1", 1), template, PROVIDER, skill_labels=labels.get) is not second  # issuer
    assert len(cache) == 2
    cache.get(("src", "c1", 2), template, SAME_ORG, skill_labels=labels.get)
    assert len(cache) == 2  # least recently used dropped
