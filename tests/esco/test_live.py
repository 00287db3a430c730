"""Live mode against a local server implementing the ESCO web API's resource/skill and search."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from bridge.esco import service as service_module
from bridge.esco.service import EscoService

from .conftest import SKILL

NEW = SKILL + "11111111-1111-4111-8111-111111111111"
RETIRED = SKILL + "22222222-2222-4222-8222-222222222222"
BREAD = SKILL + "00000000-0000-4000-8000-000000000001"


def _resource(uri: str, labels: dict[str, str], status: str = "released",
              replaced_by: str | None = None) -> dict:
    links = {
        "self": {"href": f"/resource/skill?uri={uri}", "uri": uri, "title": labels["en"]},
        "hasSkillType": [{"href": "...", "uri": "http://data.europa.eu/esco/skill-type/skill",
                          "title": "skill"}],
        "hasReuseLevel": [{"href": "...", "uri": "http://data.europa.eu/esco/skill-reuse-level/transversal",
                           "title": "transversal"}],
        "broaderSkill": [{"href": "...", "uri": BREAD, "title": "bake bread"}],
    }
    if replaced_by:
        links["isReplacedBy"] = [{"href": "...", "uri": replaced_by, "title": "x"}]
    return {
        "className": "Skill", "classId": "http://data.europa.eu/esco/model#Skill", "uri": uri,
        "title": labels["en"], "referenceLanguage": ["en"], "preferredLabel": labels,
        "alternativeLabel": {"en": ["sourdough work"]},
        "description": {"en": {"literal": "Work with sourdough.", "mimetype": "plain/text"}},
        "status": status, "_links": links,
    }


SKILLS = {
    NEW: _resource(NEW, {"en": "bake sourdough bread", "fr": "faire du pain au levain"}),
    RETIRED: _resource(RETIRED, {"en": "bake sourdough rolls"}, status="obsolete", replaced_by=NEW),
}


class _EscoApi(BaseHTTPRequestHandler):
    calls: list[str] = []

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).calls.append(f"{url.path}?{url.query}")
        if url.path == "/resource/skill":
            skill = SKILLS.get(params.get("uri", ""))
            if skill is None:
                self._send(404, {"logref": "NotFoundException", "status": 404, "message": "not found",
                                 "_links": None})
            else:
                self._send(200, skill)
        elif url.path == "/search" and params.get("type") == "skill":
            text = params.get("text", "").lower()
            results = [{"className": "Skill", "uri": uri, "title": s["title"], "searchHit": s["title"],
                        "_links": {"self": {"uri": uri}}}
                       for uri, s in SKILLS.items() if text.split()[0] in s["title"]]
            self._send(200, {"className": "Results", "total": len(results), "offset": 0,
                             "limit": int(params.get("limit", 20)), "language": params.get("language"),
                             "_embedded": {"results": results}})
        else:
            self._send(400, {"logref": "BadInputException", "status": 400, "message": "bad", "_links": None})


@pytest.fixture()
def esco_api() -> Iterator[tuple[str, list[str]]]:
    handler = type("Handler", (_EscoApi,), {"calls": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.calls
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def live_service(newer_service: EscoService, esco_api: tuple[str, list[str]], tmp_path: Path) -> EscoService:
    return EscoService.from_path(tmp_path / "newer.json.gz", live_base_url=esco_api[0])


def test_missing_skill_is_fetched_once_and_cached(live_service: EscoService,
                                                  esco_api: tuple[str, list[str]]) -> None:
    skill = live_service.get(NEW)
    assert skill is not None
    assert skill.pref_labels == {"en": "bake sourdough bread", "fr": "faire du pain au levain"}
    assert skill.alt_labels == {"en": ["sourdough work"]}
    assert skill.descriptions == {"en": "Work with sourdough."}
    assert (skill.skill_type, skill.reuse_level) == ("skill/competence", "transversal")
    assert skill.broader == [BREAD]
    assert live_service.labels(NEW)["fr"] == "faire du pain au levain"
    assert sum(1 for c in esco_api[1] if c.startswith("/resource/skill")) == 1


def test_local_skills_never_hit_the_network(live_service: EscoService,
                                            esco_api: tuple[str, list[str]]) -> None:
    assert live_service.get(BREAD) is not None
    assert esco_api[1] == []


def test_unknown_remotely_is_unknown_and_cached(live_service: EscoService,
                                                esco_api: tuple[str, list[str]]) -> None:
    missing = SKILL + "33333333-3333-4333-8333-333333333333"
    assert live_service.check([missing, missing]).unknown == [missing]
    assert live_service.get(missing) is None
    assert len(esco_api[1]) == 1


def test_live_cache_is_bounded(live_service: EscoService, esco_api: tuple[str, list[str]],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "MAX_LIVE_CACHE", 1)
    assert live_service.get(NEW) is not None
    assert live_service.get(RETIRED) is not None  # evicts NEW
    assert live_service.get(NEW) is not None
    assert sum(1 for c in esco_api[1] if c.startswith("/resource/skill")) == 3


def test_obsolete_remote_skill_warns_with_replacement(live_service: EscoService) -> None:
    result = live_service.check([RETIRED, NEW])
    assert result.unknown == []
    assert result.obsolete == [{"uri": RETIRED, "replaced_by": NEW}]


def test_search_completes_from_esco_without_obsolete(live_service: EscoService) -> None:
    hits = live_service.search("bake", lang="en", limit=10)
    hygiene = SKILL + "00000000-0000-4000-8000-000000000003"  # "bakeries" in its description
    assert [(h.uri, h.matched_field) for h in hits] == [
        (BREAD, "preferred"), (hygiene, "description"), (NEW, "live")]
    assert hits[2].label == "bake sourdough bread"
    french = live_service.search("bake", lang="fr", limit=10)
    assert [h.label for h in french] == ["faire du pain au levain"]


def test_unreachable_api_degrades_to_offline(newer_service: EscoService, tmp_path: Path) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), _EscoApi) as server:
        port = server.server_address[1]  # bound then closed: nothing listens there any more
    service = EscoService.from_path(tmp_path / "newer.json.gz", live_base_url=f"http://127.0.0.1:{port}",
                                    live_timeout=2)
    assert service.get(NEW) is None
    assert [h.label for h in service.search("bake", lang="en")] == ["bake bread", "food hygiene"]
