"""End to end: fake Moodle → poller → the real sidecar app (embedded defaults) → sealed credential.

The sidecar runs as it does out of the box: SQLite under a temporary EDC_DATA_DIR, a development
seal, tasks in-process, email written to the local outbox. It is served by werkzeug on loopback,
so the poller's requests cross real HTTP with the real signature check.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from moodle_adapter.config import load_config
from moodle_adapter.moodle_client import MoodleClient
from moodle_adapter.poller import Poller
from moodle_adapter.sidecar_client import SidecarClient
from sealer.validation import parse

from .conftest import API_KEY, SOURCE, T0, Clock
from .fake_moodle import ESCO_DATA_ANALYSIS, ESCO_PYTHON

SETTLED = {"sealed", "delivered", "partially_delivered", "failed", "skipped"}


@pytest.fixture
def real_sidecar(tmp_path: Path) -> Iterator[str]:
    from bridge.app import create_app
    from bridge.auth import hash_api_key
    from bridge.config import Settings
    from bridge.db.models import Source
    from bridge.db.session import session_factory

    settings = Settings.from_env({"EDC_DATA_DIR": str(tmp_path / "edc")})
    app = create_app(settings)
    with session_factory(settings.database_url)() as session:  # what `edc-bridge sources add` does
        session.add(Source(name=SOURCE, key_hash=hash_api_key(API_KEY)))
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    dispatcher = app.extensions["edc"].dispatcher
    if hasattr(dispatcher, "shutdown"):
        dispatcher.shutdown()


def _wait_settled(client: SidecarClient, credential_id: str, limit: float = 90.0) -> dict:
    """Poll the status URL as an adapter would, until the credential leaves the pending states."""
    deadline = time.monotonic() + limit
    while True:
        status = client.credential_status(credential_id)
        if status["status"] in SETTLED or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_completion_in_moodle_ends_as_a_sealed_credential(write_config, real_sidecar, site) -> None:
    config = load_config(write_config(courses="ids = [2]", sidecar_url=real_sidecar), env={})
    sidecar = SidecarClient(config.sidecar_url, config.source, config.api_key, timeout=30)
    poller = Poller(config, MoodleClient(config.moodle_url, config.moodle_token, timeout=30), sidecar,
                    emit=lambda _line: None, clock=Clock(T0))

    report = poller.run_once()
    assert report.templates_sent == 1 and report.completions_sent == 1, [str(e) for e in report.errors]
    assert [str(e) for e in report.errors] == [
        "course 2, learner 11: learner.email: Moodle has no email address for this learner; sent once Moodle has it"]

    credential_id = json.loads(config.state_path.read_text())["courses"]["2"]["learners"]["10"]["id"]
    status = _wait_settled(sidecar, credential_id)
    assert status["status"] in {"sealed", "delivered", "partially_delivered"}, status

    seal = parse(sidecar.sealed_credential(credential_id))
    assert (seal.format, seal.signature_intact, seal.errors) == ("JAdES", True, [])
    credential = json.loads(seal.payload)
    text = json.dumps(credential, ensure_ascii=False)
    assert "Camille" in text and "Martin" in text
    assert ESCO_PYTHON in text and ESCO_DATA_ANALYSIS in text
    claim = credential["credentialSubject"]["hasClaim"][0]
    assert claim["title"] == {"en": "Data Analysis with Python", "fr": "Analyse de données avec Python"}
    assert "<" not in text  # no markup sealed anywhere (Moodle's grade HTML, multilang spans)

    # A second pass sends nothing new, and a forced re-send is recognised as the same credential.
    assert poller.run_once().completions_sent == 0
    config.state_path.unlink()
    again = poller.run_once(backfill=True)
    assert again.duplicates == 1


def test_course_without_esco_competencies_issues_a_credential_without_skills(write_config, real_sidecar,
                                                                              site) -> None:
    from bridge.elm.conformance import shacl_validate
    site.competencies[2] = []
    config = load_config(write_config(courses="ids = [2]", sidecar_url=real_sidecar), env={})
    sidecar = SidecarClient(config.sidecar_url, config.source, config.api_key, timeout=30)
    poller = Poller(config, MoodleClient(config.moodle_url, config.moodle_token, timeout=30), sidecar,
                    emit=lambda _line: None, clock=Clock(T0))
    report = poller.run_once()
    assert report.completions_sent == 1, [str(e) for e in report.errors]
    credential_id = json.loads(config.state_path.read_text())["courses"]["2"]["learners"]["10"]["id"]
    assert _wait_settled(sidecar, credential_id)["status"] in {"sealed", "delivered", "partially_delivered"}
    payload = json.loads(parse(sidecar.sealed_credential(credential_id)).payload)
    spec = payload["credentialSubject"]["hasClaim"][0]["specifiedBy"]
    assert "learningOutcome" not in spec
    assert shacl_validate(payload).conforms  # the official shapes, full pyshacl


def test_plugin_payload_is_accepted_and_sealed_by_the_real_sidecar(real_sidecar, tmp_path: Path) -> None:
    """The PHP plugin's rules and signer (run by php-cli) against the real sidecar over HTTP."""
    import os
    import shutil
    import subprocess


    php = shutil.which("php")
    assert php, "php-cli is missing: run `make system-deps`"
    case = {
        "source": SOURCE, "timecompleted": 1764374400,
        "course": {"id": 77, "fullname": '<span lang="fr" class="multilang">Statistique</span>'
                                         '<span lang="en" class="multilang">Statistics</span>',
                   "summary": "", "lang": "fr"},
        "customfields": {"edc_ects": {"type": "text", "value": "3", "label": "3"},
                         "edc_eqf": {"type": "select", "value": "5", "label": "Level 5"},
                         "edc_iscedf": {"type": "text", "value": "0542", "label": "0542"},
                         "edc_lang": {"type": "text", "value": "fr,en", "label": "fr,en"}},
        "competencies": [{"id": 1, "shortname": "Python (computer programming)", "idnumber": ESCO_PYTHON,
                          "description": ""}],
        "defaults": {"mode": "blended", "learning_setting": "formal",
                     "awarding_body": {"legal_name": {"fr": "Université Exemple"}, "legal_identifier": "123456789",
                                       "country": "FR", "homepage": "https://univ.example"}},
        "user": {"id": 31, "firstname": "Zoé", "lastname": "Lefèvre", "email": "zoe@example.org", "lang": "fr"},
        "criteria": [{"type": 6, "complete": True}],
        "grade": {"score": 15.5, "max": 20, "min": 0, "passing": True},
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case, ensure_ascii=False))
    done = subprocess.run([php, str(Path(__file__).parent / "php" / "send_to_sidecar.php"), real_sidecar, str(path)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "EDC_API_KEY": API_KEY})
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results["template"]["status"] == 201, results["template"]
    assert results["completion"]["status"] == 202, results["completion"]
    credential_id = results["completion"]["answer"]["id"]

    client = SidecarClient(real_sidecar, SOURCE, API_KEY)
    status = _wait_settled(client, credential_id)
    assert status["status"] in {"sealed", "delivered", "partially_delivered"}, status
    seal = parse(client.sealed_credential(credential_id))
    assert seal.signature_intact and seal.errors == []
    credential = json.loads(seal.payload)
    text = json.dumps(credential, ensure_ascii=False)
    assert "Zoé" in text and ESCO_PYTHON in text
    assert credential["credentialSubject"]["hasClaim"][0]["title"] == {"fr": "Statistique", "en": "Statistics"}


def test_identical_requests_in_one_second_are_both_accepted(real_sidecar, monkeypatch) -> None:
    """A completion sent again (after a timeout, say) in the same second is not refused as a replay."""
    import moodle_adapter.signing

    root = Path(__file__).parents[2] / "examples"
    template = json.loads((root / "course-template.json").read_text(encoding="utf-8"))
    completion = json.loads((root / "completion.json").read_text(encoding="utf-8"))
    frozen = float(int(time.time()))  # every signature below carries the same X-EDC-Timestamp
    monkeypatch.setattr(moodle_adapter.signing.time, "time", lambda: frozen)
    sent: list[dict[str, str]] = []
    client = SidecarClient(real_sidecar, SOURCE, API_KEY)
    request = client.session.request

    def recording(method: str, url: str, **kwargs):  # noqa: ANN202
        sent.append(dict(kwargs["headers"]))
        return request(method, url, **kwargs)

    client.session.request = recording  # type: ignore[method-assign]

    client.put_template("42", template)
    client.put_template("42", template)  # the same PUT again: not a replay either
    first = client.post_completion(completion)
    second = client.post_completion(completion)
    assert not first.duplicate and second.duplicate and second.credential_id == first.credential_id
    polls = [client.credential_status(first.credential_id) for _ in range(2)]  # two identical GETs
    assert [p["id"] for p in polls] == [first.credential_id] * 2
    assert len(sent) == 6 and {h["X-EDC-Timestamp"] for h in sent} == {str(int(frozen))}
    assert len({h["X-EDC-Nonce"] for h in sent}) == len({h["X-EDC-Signature"] for h in sent}) == 6
