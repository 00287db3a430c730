"""schemathesis against the live sidecar: every operation of the generated OpenAPI description, with
generated valid and invalid inputs, signed like an LMS (HMAC) or with the admin token; no answer may
be a server error. Examples are bounded so the run stays short."""
from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from werkzeug.serving import make_server

from bridge.api.openapi import build_spec
from bridge.auth import signature_headers

from .conftest import ADMIN, make_sidecar

MAX_EXAMPLES = 20
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)  # valid inputs, then inputs breaking the schema


class SignedSession(requests.Session):
    """Signs each prepared request as an LMS source does: the exact path with its query and body bytes."""

    def __init__(self, source: str, key: str) -> None:
        super().__init__()
        self.source, self.key = source, key

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        import secrets

        request.headers.update(signature_headers(self.source, self.key, request.method or "GET", request.path_url,
                                                 body, nonce=secrets.token_urlsafe(16)))
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, dev_seal_p12: Path) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    car = make_sidecar(tmp, f"sqlite:///{tmp / 'live.sqlite3'}", dev_seal_p12)
    car.app.debug = True  # a server error is logged with its traceback
    key = car.add_source("moodle-main")
    car.put_template()
    server = make_server("127.0.0.1", 0, car.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    admin = requests.Session()
    admin.headers["Authorization"] = f"Bearer {ADMIN}"
    yield {"url": f"http://127.0.0.1:{server.server_port}", "spec": build_spec(car.app), "admin": admin,
           "signed": SignedSession("moodle-main", key), "public": requests.Session(), "car": car}
    server.shutdown()
    car.drain()


def _session(case: Any, live: dict[str, Any], n: int) -> requests.Session:
    security = case.operation.definition.raw.get("security", [])
    if security == []:
        return live["public"]
    if security == [{"admin": []}]:
        return live["admin"]
    return live["signed"] if n % 2 else live["admin"]  # signed source or admin: both ways in are exercised


def _examples(operation: Any, mode: GenerationMode, live: dict[str, Any], failures: list[str],
              calls: list[int]) -> Any:
    """A hypothesis test calling the live server with ``operation``'s generated cases."""
    label = f"{operation.label} ({mode.value})"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        calls.append(1)
        response = case.call(session=_session(case, live, len(calls)), timeout=30)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as exc:
            failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:300]}")
            raise

    return run


def test_no_server_error(live: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_dict(live["spec"])
    schema.config.update(base_url=live["url"])
    failures: list[str] = []
    calls: list[int] = []
    for result, mode in itertools.product(schema.get_all_operations(), MODES):
        before = len(failures)
        try:
            _examples(result.ok(), mode, live, failures, calls)()
        except Unsatisfiable:  # nothing to break: the operation takes no input (GET /docs, /metrics)
            assert mode is GenerationMode.NEGATIVE
        except Exception:  # recorded (hypothesis re-raises the smallest failing example)
            if len(failures) == before:
                raise
    assert len(calls) > 20 * len(live["spec"]["paths"])
    assert failures == []
