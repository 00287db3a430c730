"""The course catalogue: HTML pages listing courses with ESCO-linked outcomes, and each course's
LearningOpportunity JSON-LD at its stable URL (the IRI credentials link to)."""
from __future__ import annotations

from typing import Any

from lxml import html as lxml_html

from bridge.elm.learning_opportunity import loq_validate
from tests.receiving.conftest import PUBLIC_URL, Sidecar, example_template

ADAPT = "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4"


def doc(response: Any) -> Any:
    assert response.mimetype == "text/html", response.data[:200]
    return lxml_html.fromstring(response.data)


def test_catalogue_lists_courses_with_esco_links(sidecar: Sidecar) -> None:
    sidecar.add_course("moodle-main", "42")
    other = example_template()
    other["title"] = {"en": "Statistics basics"}
    other["ects"] = 2
    other["eqf_level"] = 4
    other["mode"] = "blended"
    sidecar.add_course("edx", "course-v1:Org+STAT+2026", other)
    page = doc(sidecar.client.get("/catalogue"))
    courses = page.xpath("//article[@class='course']")
    assert [c.xpath(".//h2")[0].text_content().strip() for c in courses] == \
        ["Statistics basics", "Data Analysis with Python"]
    stats, python = courses
    assert stats.xpath(".//dd[@class='ects']")[0].text == "2"
    assert stats.xpath(".//dd[@class='eqf']")[0].text == "4"
    assert stats.xpath(".//dd[@class='mode']")[0].text == "Blended"
    assert python.xpath(".//dd[@class='mode']")[0].text == "Online"
    outcome = python.xpath(".//ul[@class='outcomes']/li")[2]
    assert outcome.text.strip() == "Adapt to change at work"
    link = outcome.xpath(".//a[@class='esco']")[0]
    assert link.get("href") == ADAPT and link.text == "adapt to change"
    jsonld = stats.xpath(".//a[@type='application/ld+json']")[0].get("href")
    assert jsonld == f"{PUBLIC_URL}/catalogue/edx/course-v1%3AOrg%2BSTAT%2B2026.jsonld"
    assert "English" in python.text_content() and "French" in python.text_content()


def test_catalogue_in_french(sidecar: Sidecar) -> None:
    sidecar.add_course()
    page = doc(sidecar.client.get("/catalogue", headers={"Accept-Language": "fr"}))
    assert page.get("lang") == "fr"
    course = page.xpath("//article[@class='course']")[0]
    title = course.xpath(".//h2")[0]
    assert title.text_content().strip() == "Analyse de données avec Python" and title.get("lang") == "fr"
    assert course.xpath(".//dd[@class='mode']")[0].text == "En ligne"
    assert "125\u00a0heures" in course.text_content()  # PT125H, with a no-break space
    skills = [a.text for a in course.xpath(".//a[@class='esco']")]
    assert "s'adapter au changement" in skills
    assert "anglais" in course.text_content() and "français" in course.text_content()


def test_course_jsonld_at_its_stable_url_conforms(sidecar: Sidecar) -> None:
    sidecar.add_course("edx", "course-v1:Org+X+2026")
    url = "/catalogue/edx/course-v1%3AOrg%2BX%2B2026.jsonld"
    response = sidecar.client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document = response.json
    assert document["id"] == PUBLIC_URL + url
    assert document["type"] == "LearningOpportunity"
    report = loq_validate(document)
    assert report.conforms, report.messages
    outcomes = document["learningAchievementSpecification"]["learningOutcome"]
    assert ADAPT in [s["id"] for o in outcomes for s in o["relatedESCOSkill"]]
    # The homepage is the course's own page, which lists the same outcomes.
    homepage = document["homepage"][0]["contentURL"].removeprefix(PUBLIC_URL)
    page = doc(sidecar.client.get(homepage))
    assert page.xpath("//h1")[0].text_content().strip() == "Data Analysis with Python"
    assert page.xpath("//link[@rel='alternate']")[0].get("href") == PUBLIC_URL + url
    assert ADAPT in [a.get("href") for a in page.xpath("//a[@class='esco']")]


def test_updated_template_is_republished(sidecar: Sidecar) -> None:
    sidecar.add_course()
    changed = example_template()
    changed["ects"] = 6
    sidecar.add_course(template=changed)
    document = sidecar.client.get("/catalogue/moodle-main/42.jsonld").json
    assert document["learningAchievementSpecification"]["creditPoint"][0]["point"] == "6"
    assert document["dateModified"]["@value"].endswith("Z")


def test_unknown_courses_are_404_pages(sidecar: Sidecar) -> None:
    response = sidecar.client.get("/catalogue/moodle-main/404")
    assert response.status_code == 404
    assert doc(response).xpath("//h1")[0].text_content() == "Course not found"
    assert sidecar.client.get("/catalogue/moodle-main/404.jsonld").status_code == 404
    empty = doc(sidecar.client.get("/catalogue?lang=fr"))
    assert "Aucune formation n’est encore publiée." in empty.text_content()


def test_markup_in_templates_is_escaped(sidecar: Sidecar) -> None:
    hostile = example_template()
    hostile["title"] = {"en": "<script>alert(1)</script>"}
    sidecar.add_course(template=hostile)
    response = sidecar.client.get("/catalogue")
    assert b"<script>" not in response.data and b"&lt;script&gt;" in response.data
