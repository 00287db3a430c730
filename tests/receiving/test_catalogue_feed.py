"""``/catalogue.jsonld``: the paged catalogue feed partners harvest — Link paging, ETag/Last-Modified
with 304 answers, every property kept by a JSON-LD reader using the official ELM context, and every
page conformant to the LOQ shapes."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF

from bridge.db.session import dispose_engine
from bridge.elm.learning_opportunity import loq_validate
from tests.receiving.conftest import PUBLIC_URL, Sidecar, example_template, make_sidecar
from tests.receiving.jsonld_terms import CONTEXTS, dropped_properties

ELM = Namespace("http://data.europa.eu/snb/model/elm/")
XSD_DATETIME = URIRef("http://www.w3.org/2001/XMLSchema#dateTime")


@pytest.fixture
def paged(tmp_path: Path, dev_seal: Any) -> Any:
    car = make_sidecar(tmp_path, dev_seal, EDC_CATALOGUE_PAGE_SIZE="2")
    for number, title in ((1, "Algebra"), (2, "Biology"), (3, "Chemistry")):
        template = example_template()
        template["title"] = {"en": title, "fr": title + " (fr)"}
        car.add_course("moodle-main", str(number), template)
    yield car
    dispose_engine(car.settings.database_url)


def _links(response: Any) -> dict[str, str]:
    links = {}
    for part in response.headers["Link"].split(","):
        url, rel = part.split(";")
        links[rel.strip().removeprefix('rel="').removesuffix('"')] = url.strip()[1:-1]
    return links


def _official_graph(document: dict[str, Any]) -> Graph:
    """rdflib's own JSON-LD parser, the context given inline from the official files."""
    inline = copy.deepcopy(document)
    inline["@context"] = [json.loads(CONTEXTS[c].read_text("utf-8"))["@context"] if isinstance(c, str) else c
                          for c in inline["@context"]]
    return Graph().parse(data=json.dumps(inline), format="json-ld")


def test_feed_pages_are_linked_and_conform(paged: Sidecar) -> None:
    first = paged.client.get("/catalogue.jsonld")
    assert first.status_code == 200 and first.mimetype == "application/ld+json"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    links = _links(first)
    assert links == {"first": f"{PUBLIC_URL}/catalogue.jsonld", "last": f"{PUBLIC_URL}/catalogue.jsonld?page=2",
                     "next": f"{PUBLIC_URL}/catalogue.jsonld?page=2"}
    second = paged.client.get(links["next"].removeprefix(PUBLIC_URL))
    assert _links(second)["prev"] == f"{PUBLIC_URL}/catalogue.jsonld" and "next" not in _links(second)
    titles = [n["title"]["en"] for page in (first, second) for n in page.json["@graph"]]
    assert titles == ["Algebra", "Biology", "Chemistry"]
    for page in (first, second):
        report = loq_validate(page.json)
        assert report.conforms, report.messages
        assert dropped_properties(page.json) == []
        graph = _official_graph(page.json)
        opportunities = list(graph.subjects(RDF.type, ELM.LearningOpportunity))
        assert len(opportunities) == len(page.json["@graph"])
        for node in opportunities:
            modified = graph.value(node, DCTERMS.modified)
            assert isinstance(modified, Literal) and modified.datatype == XSD_DATETIME
            assert isinstance(graph.value(node, ELM.defaultLanguage), URIRef)
    missing = paged.client.get("/catalogue.jsonld?page=3")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert paged.client.get("/catalogue.jsonld?page=0").status_code == 400
    assert paged.client.get("/catalogue.jsonld?color=red").status_code == 400


def test_a_property_outside_the_context_is_caught() -> None:
    """The check the feed passes can fail: the old ``modified`` key vanishes on expansion."""
    document = {"@context": ["http://data.europa.eu/snb/model/context/edc-ap", {"id": "@id", "type": "@type"}],
                "id": "https://x.example/lo/1", "type": "LearningOpportunity", "title": {"en": "X"},
                "modified": "2026-11-20T10:00:00Z"}
    assert dropped_properties(document) == ["modified"]
    document.pop("modified")
    assert dropped_properties(document) == []


def test_conditional_requests_answer_304_until_the_catalogue_changes(paged: Sidecar) -> None:
    first = paged.client.get("/catalogue.jsonld")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and "no-cache" in first.headers["Cache-Control"]
    again = paged.client.get("/catalogue.jsonld", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert paged.client.get("/catalogue.jsonld", headers={"If-Modified-Since": modified}).status_code == 304
    # If-None-Match wins over a date that would say "not modified".
    assert paged.client.get("/catalogue.jsonld", headers={"If-None-Match": '"other"',
                                                          "If-Modified-Since": modified}).status_code == 200
    assert paged.client.get("/catalogue.jsonld", headers={"If-Modified-Since": "not a date"}).status_code == 200
    assert paged.client.get("/catalogue.jsonld", headers={"If-None-Match": "no quotes"}).status_code == 400
    second = paged.client.get("/catalogue.jsonld?page=2")
    # A change on the last page changes every page's ETag: an unchanged first page means an unchanged feed.
    changed = example_template()
    changed["title"] = {"en": "Chemistry", "fr": "Chimie"}
    changed["ects"] = 6
    paged.add_course("moodle-main", "3", changed)
    assert paged.client.get("/catalogue.jsonld", headers={"If-None-Match": etag}).status_code == 200
    assert paged.client.get("/catalogue.jsonld?page=2",
                            headers={"If-None-Match": second.headers["ETag"]}).status_code == 200


def test_course_document_answers_conditional_requests(paged: Sidecar) -> None:
    one = paged.client.get("/catalogue/moodle-main/1.jsonld")
    assert one.status_code == 200 and dropped_properties(one.json) == []
    assert one.json["dateModified"]["@type"] == str(XSD_DATETIME)
    assert paged.client.get("/catalogue/moodle-main/1.jsonld",
                            headers={"If-None-Match": one.headers["ETag"]}).status_code == 304


def test_empty_catalogue_is_one_empty_page(sidecar: Sidecar) -> None:
    response = sidecar.client.get("/catalogue.jsonld")
    assert response.status_code == 200 and response.json["@graph"] == []
    assert _links(response) == {"first": f"{PUBLIC_URL}/catalogue.jsonld", "last": f"{PUBLIC_URL}/catalogue.jsonld"}
