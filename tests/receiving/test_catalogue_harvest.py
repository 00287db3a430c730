"""The alliance catalogue: institution B harvests institution A's feed from a second sidecar running for
real (``edc-bridge serve`` on loopback), re-harvests with a 304, refuses malformed, oversized, endless
and slow feeds with a logged reason while keeping the last good copy, and lists A's courses."""
from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from lxml import html as lxml_html
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bridge.catalogue.harvest import harvest_all
from bridge.cli import main
from bridge.db.models import CatalogueEntry, CatalogueFeed
from bridge.db.session import dispose_engine
from bridge.elm.learning_opportunity import learning_opportunity
from bridge.elm.template import CourseTemplate
from tests.receiving.conftest import ADMIN, ROOT, Sidecar, example_template, make_sidecar

A_TITLES = ("Marine biology", "Ocean data science")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(check: Callable[[], bool], timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Institution:
    """Institution A: ``edc-bridge serve`` in its own process, data folder and database."""

    def __init__(self, tmp: Path, dev_seal: Any) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "EDC_DATA_DIR": str(tmp / "a-var"),
                    "EDC_DATABASE_URL": f"sqlite:///{tmp / 'a.sqlite3'}", "EDC_ADMIN_TOKEN": ADMIN,
                    "EDC_SEAL_PKCS12": str(dev_seal.pkcs12_path), "EDC_SEAL_PKCS12_PASSWORD": "dev-seal",
                    "EDC_PUBLIC_URL": self.base, "EDC_CATALOGUE_PAGE_SIZE": "1"}
        added = CliRunner().invoke(main, ["sources", "add", "moodle-a"], env=self.env)
        assert added.exit_code == 0, added.output
        self.log = tmp / "a-serve.log"
        self._out = self.log.open("wb")
        self.process = subprocess.Popen([str(Path(sys.executable).with_name("edc-bridge")), "serve", "--port",
                                         str(self.port), "--threads", "4"], cwd=ROOT, env=self.env,
                                        stdout=self._out, stderr=subprocess.STDOUT)
        _wait(lambda: _healthy(self.base))

    def put_course(self, course_id: str, title: str, ects: int = 5) -> None:
        template = example_template()
        template["title"] = {"en": title}
        template["description"] = {"en": f"{title}, taught at the coast."}
        template["ects"] = ects
        template["eqf_level"] = 7
        response = requests.put(f"{self.base}/api/v1/sources/moodle-a/courses/{course_id}/template",
                                json=template, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30)
        assert response.status_code in (200, 201), response.text

    def feed_statuses(self) -> list[int]:
        lines = self.log.read_text(errors="replace").splitlines()
        return [int(m.group(1)) for line in lines if (m := re.search(r'"GET /catalogue\.jsonld" (\d{3})', line))]

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown (SIGTERM waits for idle keep-alives)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self._out.close()
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def institution_a(tmp_path_factory: pytest.TempPathFactory, dev_seal: Any) -> Iterator[Institution]:
    a = Institution(tmp_path_factory.mktemp("institution-a"), dev_seal)
    a.put_course("101", A_TITLES[0])
    a.put_course("102", A_TITLES[1])
    yield a
    log = a.stop()
    assert "Traceback" not in log, log[-3000:]


class FeedServer:
    """A catalogue publisher on loopback whose answer each test sets (``handler``)."""

    def __init__(self) -> None:
        self.handler: Callable[[Request], Response] = lambda request: Response(status=404)
        self.requests: list[Request] = []

        @Request.application
        def app(request: Request) -> Response:
            self.requests.append(request)
            return self.handler(request)

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.server.shutdown()


def _institution_b(tmp_path: Path, dev_seal: Any, partners: str, **env: str) -> Sidecar:
    return make_sidecar(tmp_path, dev_seal, EDC_CATALOGUE_PARTNERS=partners, **env)


def _entries(car: Sidecar, partner: str) -> list[CatalogueEntry]:
    with car.rt.sessions() as session:
        return list(session.query(CatalogueEntry).filter_by(partner=partner).order_by(CatalogueEntry.position))


def _feed(car: Sidecar, partner: str) -> CatalogueFeed:
    with car.rt.sessions() as session:
        feed = session.get(CatalogueFeed, partner)
        assert feed is not None
        return feed


def _page(car: Sidecar, query: str) -> Any:
    response = car.client.get("/catalogue" + query)
    assert response.mimetype == "text/html", response.data[:300]
    return response.status_code, lxml_html.fromstring(response.data)


def _titles(doc: Any) -> list[str]:
    return [h.text_content().strip() for h in doc.xpath("//article//h2")]


def test_harvest_from_a_second_sidecar_with_304_and_listing(institution_a: Institution, tmp_path: Path,
                                                              dev_seal: Any) -> None:
    b = _institution_b(tmp_path, dev_seal, f"uni-a={institution_a.base}/catalogue.jsonld")
    try:
        b.add_course("moodle-b", "7")  # B's own course: "Data Analysis with Python"
        before = len(institution_a.feed_statuses())
        [outcome] = harvest_all(b.rt.sessions, b.settings)
        assert (outcome.status, outcome.entries, outcome.pages, outcome.left_out) == ("harvested", 2, 2, 0)
        entries = _entries(b, "uni-a")
        assert [e.view["title"]["en"] for e in entries] == list(A_TITLES)
        assert entries[0].iri == f"{institution_a.base}/catalogue/moodle-a/101.jsonld"
        view = entries[0].view
        assert view["ects"] == 5 and view["eqf_level"] == 7 and view["mode"] == "online"
        assert view["languages"][:2] == ["en", "fr"]
        assert any(s["uri"].startswith("http://data.europa.eu/esco/skill/") for o in view["outcomes"]
                   for s in o["skills"])
        # gunicorn writes its access line after the answer is sent: wait for it.
        _wait(lambda: institution_a.feed_statuses()[before:] == [200, 200], timeout=20)

        # Nothing changed at A: the first page answers 304 and the entries stay.
        [again] = harvest_all(b.rt.sessions, b.settings)
        assert (again.status, again.entries) == ("unchanged", 2)
        _wait(lambda: institution_a.feed_statuses()[before:] == [200, 200, 304], timeout=20)

        # A course changes at A: the next harvest reads the feed again.
        institution_a.put_course("102", A_TITLES[1], ects=6)
        [changed] = harvest_all(b.rt.sessions, b.settings)
        assert changed.status == "harvested"
        assert [e.view["ects"] for e in _entries(b, "uni-a")] == [5, 6]

        # B's catalogue: ours, A's, or both; A's courses carry A's name and link to A's pages.
        status, everything = _page(b, "")
        assert status == 200
        assert _titles(everything) == ["Data Analysis with Python", *A_TITLES]
        _status, ours = _page(b, "?partner=ours")
        assert _titles(ours) == ["Data Analysis with Python"]
        _status, theirs = _page(b, "?partner=uni-a&lang=fr")
        assert _titles(theirs) == list(A_TITLES)
        first = theirs.xpath("//article")[0]
        assert first.xpath(".//h2/a")[0].get("href") == f"{institution_a.base}/catalogue/moodle-a/101"
        assert "Université Exemple" in first.xpath(".//p[@class='origin']")[0].text_content()
        assert first.xpath(".//dd[@class='ects']")[0].text == "5"
        assert first.xpath(".//dd[@class='mode']")[0].text == "En ligne"
        # Search: title words without accents or case, ESCO skill, ECTS, EQF, language, mode.
        assert _titles(_page(b, "?q=OCEAN")[1]) == ["Ocean data science"]
        assert _titles(_page(b, "?ects_min=5.5")[1]) == ["Ocean data science"]
        assert _titles(_page(b, "?eqf=7&partner=uni-a")[1]) == list(A_TITLES)
        assert _titles(_page(b, "?eqf=7&partner=ours")[1]) == []
        assert _titles(_page(b, "?skill=adapt+to+change&partner=uni-a")[1]) == list(A_TITLES)
        assert _titles(_page(b, "?mode=blended")[1]) == []
        assert len(_titles(_page(b, "?language=fr&mode=online")[1])) == 3
        bad_status, bad = _page(b, "?ects_min=lots&eqf=9")
        assert bad_status == 400
        assert {a.get("href") for a in bad.xpath("//div[@role='alert']//a")} == {"#f-ects_min", "#f-eqf"}
        assert bad.xpath("//input[@id='f-ects_min']")[0].get("aria-invalid") == "true"
    finally:
        dispose_engine(b.settings.database_url)


def test_a_single_learning_opportunity_document_is_a_feed(institution_a: Institution, tmp_path: Path,
                                                           dev_seal: Any) -> None:
    b = _institution_b(tmp_path, dev_seal, f"one={institution_a.base}/catalogue/moodle-a/101.jsonld")
    try:
        [outcome] = harvest_all(b.rt.sessions, b.settings)
        assert (outcome.status, outcome.entries, outcome.pages) == ("harvested", 1, 1)
        assert [e.view["title"]["en"] for e in _entries(b, "one")] == [A_TITLES[0]]
    finally:
        dispose_engine(b.settings.database_url)


def _lo(title: str, number: int, base: str = "https://partner.example") -> dict[str, Any]:
    template = example_template()
    template["title"] = {"en": title}
    return learning_opportunity(CourseTemplate.from_dict(template), base_url=base, source="lms", course_id=str(number))


def _good_feed(request: Request) -> Response:
    if request.headers.get("If-None-Match") == '"v1"':
        return Response(status=304, headers={"ETag": '"v1"'})
    return Response(json.dumps(_lo("Good course", 1)), mimetype="application/ld+json", headers={"ETag": '"v1"'})


@pytest.mark.parametrize(("answer", "reason"), [
    (lambda r: Response("{not json", mimetype="application/ld+json"), "not JSON"),
    (lambda r: Response("<html>hello</html>", mimetype="text/html"), "text/html, not JSON-LD"),
    (lambda r: Response(json.dumps({"@context": "https://other.example/context", "title": "x"}),
                        mimetype="application/json"), "context other than ELM"),
    (lambda r: Response(json.dumps({"@context": "http://data.europa.eu/snb/model/context/edc-ap",
                                    "id": "urn:x", "type": "Organisation", "legalName": {"en": "X"}}),
                        mimetype="application/ld+json"), "no LearningOpportunity"),
    (lambda r: Response(status=500), "HTTP 500"),
])
def test_malformed_feed_is_refused_and_the_last_good_copy_kept(feeds: FeedServer, tmp_path: Path, dev_seal: Any,
                                                                caplog: pytest.LogCaptureFixture,
                                                                answer: Any, reason: str) -> None:
    b = _institution_b(tmp_path, dev_seal, f"p={feeds.base}/feed")
    try:
        feeds.handler = _good_feed
        assert harvest_all(b.rt.sessions, b.settings)[0].status == "harvested"
        feeds.handler = answer
        with caplog.at_level(logging.WARNING, logger="bridge.catalogue.harvest"):
            [outcome] = harvest_all(b.rt.sessions, b.settings)
        assert outcome.status in ("refused", "failed") and reason in (outcome.reason or "")
        assert [e.view["title"]["en"] for e in _entries(b, "p")] == ["Good course"]
        feed = _feed(b, "p")
        assert feed.status == outcome.status and reason in (feed.reason or "") and feed.etag == '"v1"'
        assert any(reason in r.getMessage() and "last good copy" in r.getMessage() for r in caplog.records)
        assert feeds.requests[-1].headers.get("If-None-Match") == '"v1"'
    finally:
        dispose_engine(b.settings.database_url)


def test_non_conformant_entries_are_left_out_without_personal_data_in_logs(
        feeds: FeedServer, tmp_path: Path, dev_seal: Any, caplog: pytest.LogCaptureFixture) -> None:
    good, bad = _lo("Good course", 1), _lo("Broken course", 2)
    bad.pop("providedBy")  # LOQ requires a provider
    bad["description"] = {"en": "Contact Alice Martin, alice.martin@example.org"}
    page = {"@context": good["@context"], "@graph": [{k: v for k, v in n.items() if k != "@context"}
                                                     for n in (good, bad)]}
    feeds.handler = lambda r: Response(json.dumps(page), mimetype="application/ld+json")
    b = _institution_b(tmp_path, dev_seal, f"p={feeds.base}/feed")
    try:
        with caplog.at_level(logging.INFO):
            [outcome] = harvest_all(b.rt.sessions, b.settings)
        assert (outcome.status, outcome.entries, outcome.left_out) == ("harvested", 1, 1)
        assert "providedBy" in (outcome.reason or "")
        # Only the broken one: refused whole, the good copy stays.
        page["@graph"] = page["@graph"][1:]
        assert harvest_all(b.rt.sessions, b.settings)[0].status == "refused"
        assert [e.view["title"]["en"] for e in _entries(b, "p")] == ["Good course"]
        text = " ".join(r.getMessage() for r in caplog.records)
        assert "alice" not in text.lower() and "Martin" not in text
    finally:
        dispose_engine(b.settings.database_url)


def _big(request: Request) -> Response:
    nodes = [{k: v for k, v in _lo(f"Course {i}", i).items() if k != "@context"} for i in range(20)]
    body = json.dumps({"@context": _lo("x", 0)["@context"], "@graph": nodes})
    if request.args.get("chunked"):  # no Content-Length: the harvester counts what it reads
        return Response((body[i:i + 1000] for i in range(0, len(body), 1000)), mimetype="application/ld+json")
    return Response(body, mimetype="application/ld+json")


@pytest.mark.parametrize("path", ["/feed", "/feed?chunked=1"])
def test_oversized_feed_is_refused(feeds: FeedServer, tmp_path: Path, dev_seal: Any, path: str) -> None:
    feeds.handler = _big
    b = _institution_b(tmp_path, dev_seal, f"p={feeds.base}{path}", EDC_CATALOGUE_MAX_BYTES="20000")
    try:
        [outcome] = harvest_all(b.rt.sessions, b.settings)
        assert outcome.status == "refused" and outcome.reason == "a page is larger than 20000 bytes"
        assert _entries(b, "p") == [] and _feed(b, "p").harvested_at is None
    finally:
        dispose_engine(b.settings.database_url)


def test_too_many_entries_pages_and_loops_are_refused(feeds: FeedServer, tmp_path: Path, dev_seal: Any) -> None:
    def paged(request: Request) -> Response:
        number = int(request.args.get("page", "1"))
        following = number + 1 if request.args.get("loop") is None else 1
        body = json.dumps(_lo(f"Course {number}", number))
        return Response(body, mimetype="application/ld+json",
                        headers={"Link": f'</feed?page={following}{"&loop=1" if request.args.get("loop") else ""}>; '
                                         'rel="next"'})

    feeds.handler = paged
    b = _institution_b(tmp_path, dev_seal, f"endless={feeds.base}/feed looping={feeds.base}/feed?loop=1",
                       EDC_CATALOGUE_MAX_PAGES="3", EDC_CATALOGUE_MAX_ENTRIES="5")
    try:
        endless, looping = harvest_all(b.rt.sessions, b.settings)
        assert (endless.status, endless.reason) == ("refused", "more than 3 pages")
        assert (looping.status, looping.reason) == ("refused", "the pages link back to an earlier page")
    finally:
        dispose_engine(b.settings.database_url)


def test_slow_feed_is_refused(feeds: FeedServer, tmp_path: Path, dev_seal: Any) -> None:
    def drip(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b'{"@context": "http://data.europa.eu/snb/model/context/edc-ap", "@graph": ['
            for _ in range(40):
                time.sleep(0.25)
                yield b" "
            yield b"]}"
        return Response(body(), mimetype="application/ld+json")

    feeds.handler = drip
    b = _institution_b(tmp_path, dev_seal, f"slow={feeds.base}/feed", EDC_CATALOGUE_TIMEOUT="2")
    try:
        started = time.monotonic()
        [outcome] = harvest_all(b.rt.sessions, b.settings)
        assert (outcome.status, outcome.reason) == ("refused", "the feed took longer than 2 s")
        assert time.monotonic() - started < 8
    finally:
        dispose_engine(b.settings.database_url)


def test_cli_harvest_and_status(feeds: FeedServer, tmp_path: Path, dev_seal: Any) -> None:
    feeds.handler = lambda r: _good_feed(r) if r.path == "/feed" else Response(status=404)
    env = {"EDC_DATA_DIR": str(tmp_path / "var"), "EDC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
           "EDC_CATALOGUE_PARTNERS": f"good={feeds.base}/feed,broken={feeds.base}/missing"}
    runner = CliRunner()
    result = runner.invoke(main, ["catalogue", "harvest"], env=env)
    assert result.exit_code == 1, result.output
    assert "good: harvested, 1 learning opportunit(ies) from 1 page(s), 0 left out" in result.output
    assert "broken: refused, 0 learning opportunit(ies) (HTTP 404)" in result.output
    only = runner.invoke(main, ["catalogue", "harvest", "--partner", "good"], env=env)
    assert only.exit_code == 0 and "good: unchanged" in only.output
    assert runner.invoke(main, ["catalogue", "harvest", "--partner", "nobody"], env=env).exit_code == 2
    status = runner.invoke(main, ["catalogue", "status"], env=env)
    assert "good\t" in status.output and "1 entries" in status.output and "HTTP 404" in status.output
    unset = runner.invoke(main, ["catalogue", "harvest"], env={**env, "EDC_CATALOGUE_PARTNERS": ""})
    assert unset.exit_code == 1 and "EDC_CATALOGUE_PARTNERS" in unset.output


def test_catalogue_search_in_a_real_browser(institution_a: Institution, tmp_path: Path, dev_seal: Any) -> None:
    """Headless Chromium, French, keyboard only: search the harvested partner courses; every field is labelled."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    from tests.browser import chromium

    b = _institution_b(tmp_path, dev_seal, f"uni-a={institution_a.base}/catalogue.jsonld")
    server = make_server("127.0.0.1", 0, b.app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        b.add_course("moodle-b", "7")
        assert harvest_all(b.rt.sessions, b.settings)[0].status == "harvested"
        with chromium(tmp_path / "profile", lang="fr-FR") as browser:
            browser.get(f"{base}/catalogue?lang=fr")
            assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
            unlabelled = browser.execute_script(
                "return [...document.querySelectorAll('form.search input:not([type=hidden]), form.search select')]"
                ".filter(e => e.labels.length === 0).map(e => e.id)")
            assert unlabelled == []
            assert browser.find_element(By.ID, "count").text == "Formations trouvées : 3"
            field = browser.find_element(By.ID, "f-q")
            field.send_keys("océan")  # accents and case do not matter
            Select(browser.find_element(By.ID, "f-partner")).select_by_value("uni-a")
            field.send_keys(Keys.ENTER)  # the form is submitted from the keyboard, no script involved
            status = browser.find_element(By.ID, "count")
            assert status.text == "Formations trouvées : 1" and status.get_attribute("role") == "status"
            article = browser.find_element(By.CSS_SELECTOR, "article.partner-course")
            assert article.find_element(By.TAG_NAME, "h2").text == "Ocean data science"
            assert "Formation partenaire" in article.find_element(By.CSS_SELECTOR, "p.origin").text
            assert browser.find_element(By.ID, "f-q").get_attribute("value") == "océan"
            assert browser.execute_script("return document.scripts.length") == 0
            # Once B signs an agreement with A, A's course shows what it counts as here.
            _sign_agreement(b, institution_a.base)
            browser.get(f"{base}/catalogue?lang=fr&partner=uni-a&q=marine")
            option = browser.find_element(By.CSS_SELECTOR, "article.partner-course ul.recognition li")
            assert option.text.startswith("Reconnue ici comme 4 crédits ECTS selon notre accord avec "
                                          "Université de la Mer")
    finally:
        server.shutdown()
        dispose_engine(b.settings.database_url)


@pytest.mark.parametrize(("raw", "message"), [
    ("uni-a", "each item is name=URL"),
    ("bad name=https://a.example/feed", "each item is name=URL"),
    ("a=ftp://a.example/feed", "must be http(s)"),
    ("a=https://user:secret@a.example/feed", "must be http(s) without credentials"),
    ("a=https://a.example/1 a=https://a.example/2", "a is given twice"),
])
def test_partner_setting_is_checked(raw: str, message: str) -> None:
    from bridge.config import ConfigError, Settings

    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"EDC_CATALOGUE_PARTNERS": raw})
    assert message in str(caught.value) and "secret" not in str(caught.value)


def test_celery_beat_harvests_only_with_partners() -> None:
    script = ("from bridge.tasks.celery_app import celery_app as c; "
              "print(sorted(c.conf.beat_schedule), 'bridge.catalogue_harvest' in c.tasks)")
    env = {**os.environ, "EDC_CATALOGUE_PARTNERS": "a=https://a.example/catalogue.jsonld,b=https://b.example/x",
           "EDC_CATALOGUE_HARVEST_INTERVAL": "900"}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['edc-catalogue-harvest', 'edc-outbox-sweep'] True"
    env.pop("EDC_CATALOGUE_PARTNERS")
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['edc-outbox-sweep'] True"


def test_embedded_serve_harvests_its_partners(institution_a: Institution, tmp_path: Path, dev_seal: Any) -> None:
    """Without a broker, ``edc-bridge serve`` harvests EDC_CATALOGUE_PARTNERS by itself, shortly after start."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EDC_DATA_DIR": str(tmp_path / "b-var"),
           "EDC_DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}", "EDC_SEAL_PKCS12": str(dev_seal.pkcs12_path),
           "EDC_SEAL_PKCS12_PASSWORD": "dev-seal",
           "EDC_PUBLIC_URL": base, "EDC_CATALOGUE_PARTNERS": f"uni-a={institution_a.base}/catalogue.jsonld"}
    log = tmp_path / "b-serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(Path(sys.executable).with_name("edc-bridge")), "serve", "--port", str(port),
                                    "--threads", "4"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait(lambda: _healthy(base))

            def listed() -> bool:
                page = requests.get(f"{base}/catalogue?partner=uni-a", timeout=10)
                return page.status_code == 200 and A_TITLES[0] in page.text and A_TITLES[1] in page.text

            _wait(listed, timeout=120)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
    assert "Traceback" not in log.read_text(errors="replace")


def _sign_agreement(car: Sidecar, a_base: str) -> None:
    """B's register: institution A, and a two-way agreement signed by both, in force around today."""
    import datetime as dt

    from bridge.recognition.agreements import change_status, mark_signed, save_agreement, save_partner
    from bridge.recognition.schemas import AgreementInput, PartnerInput

    today = dt.date.today()
    with car.rt.sessions() as session:
        partner = save_partner(session, PartnerInput(name="Université de la Mer", country="FR",
                                                     eidas_identifier="VATFR-11111111111"))
        agreement = save_agreement(session, AgreementInput.model_validate({
            "partner_id": partner.id, "title": "Marine sciences", "direction": "two_way",
            "learning_kind": "non_formal_institution",
            "valid_from": (today - dt.timedelta(days=30)).isoformat(),
            "valid_until": (today + dt.timedelta(days=365)).isoformat(),
            "courses": [
                {"direction": "incoming", "their_lo_iri": f"{a_base}/catalogue/moodle-a/101.jsonld",
                 "their_title": A_TITLES[0], "counts_as": "credits", "ects": 4},
                {"direction": "incoming", "their_title": "ocean data SCIENCE", "their_eqf": 7,
                 "counts_as": "elective", "elective_slot": "Free elective, semester 2"},
                {"direction": "outgoing", "our_source": "moodle-b", "our_course_id": "7",
                 "their_title": "Data for marine biologists", "counts_as": "equivalent", "min_grade": "12/20"},
            ],
            "signatories": [{"side": "ours", "name": "Registrar B"}, {"side": "theirs", "name": "Registrar A"}],
        }))
        change_status(agreement, "agreed")
        mark_signed(agreement, b"%PDF-1.7 signed", [{"signer": "both", "intact": True}])
        session.commit()


def test_catalogue_shows_recognition_options_once_an_agreement_is_signed(
        institution_a: Institution, tmp_path: Path, dev_seal: Any) -> None:
    b = _institution_b(tmp_path, dev_seal, f"uni-a={institution_a.base}/catalogue.jsonld")
    try:
        b.add_course("moodle-b", "7")
        assert harvest_all(b.rt.sessions, b.settings)[0].status == "harvested"
        _status, before = _page(b, "")
        assert before.xpath("//ul[@class='recognition']") == []
        _sign_agreement(b, institution_a.base)
        _status, after = _page(b, "")
        ours, marine, ocean = after.xpath("//article")
        options = [" ".join(li.text_content().split()) for li in ours.xpath(".//ul[@class='recognition']/li")]
        assert options[0].startswith("Recognised by Université de la Mer as the course “Data for marine "
                                     "biologists” (agreement valid until ")
        assert options[0].endswith("; minimum grade 12/20)")
        marine_text = " ".join(marine.xpath(".//ul[@class='recognition']")[0].text_content().split())
        assert marine_text.startswith("Recognised here as 4 ECTS credits under our agreement with "
                                      "Université de la Mer")
        # A line without an IRI matches the partner's course by title (any case) and its EQF level.
        ocean_text = " ".join(ocean.xpath(".//ul[@class='recognition']")[0].text_content().split())
        assert ocean_text.startswith("Recognised here as an elective (Free elective, semester 2)")
        _status, french = _page(b, "?partner=uni-a&lang=fr")
        assert "Reconnue ici comme 4 crédits ECTS" in french.xpath("//ul[@class='recognition']")[0].text_content()
        single = lxml_html.fromstring(b.client.get("/catalogue/moodle-b/7").data)
        assert "Data for marine biologists" in single.xpath("//ul[@class='recognition']")[0].text_content()
    finally:
        dispose_engine(b.settings.database_url)
