"""``/catalogue``: ours and the partners' courses in one list, filtered and paged.

The query string goes through a pydantic schema like every input of the sidecar; on a page, a bad
value is shown next to its field (400) rather than answered with problem+json. Blank form fields
are ignored, so the plain HTML form (no JavaScript) can always be submitted whole.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired
from urllib.parse import urlencode

from pydantic import ConfigDict, StringConstraints, TypeAdapter, ValidationError, with_config
from sqlalchemy import select
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from bridge.api.common import runtime
from bridge.api.schemas import query_int
from bridge.catalogue import options, search
from bridge.catalogue.search import OURS, Filters, Searchable
from bridge.db.models import CatalogueEntry, CatalogueFeed
from bridge.db.models import CourseTemplate as TemplateRow
from bridge.elm import codelists, fields
from bridge.web import catalogue

PER_PAGE = 25
_DECIMAL = r"^[0-9]{1,3}([.,][0-9]{1,2})?$"


@with_config(ConfigDict(extra="forbid", hide_input_in_errors=True))
class CatalogueQuery(TypedDict):
    lang: NotRequired[Annotated[str, StringConstraints(max_length=16)]]
    q: NotRequired[fields.text(200)]  # type: ignore[valid-type]
    skill: NotRequired[fields.text(300)]  # type: ignore[valid-type]
    ects_min: NotRequired[Annotated[str, StringConstraints(strict=True, pattern=_DECIMAL)]]
    ects_max: NotRequired[Annotated[str, StringConstraints(strict=True, pattern=_DECIMAL)]]
    eqf: NotRequired[query_int(1, 8)]
    language: NotRequired[Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z]{2,3}$")]]
    mode: NotRequired[Literal[tuple(codelists.MODE_CODES)]]  # type: ignore[valid-type]
    partner: NotRequired[Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9._-]{1,64}$")]]
    page: NotRequired[query_int(1, 100_000)]


_QUERY = TypeAdapter(CatalogueQuery)
FIELDS = ("q", "skill", "ects_min", "ects_max", "eqf", "language", "mode", "partner")


class BadSearch(ValueError):
    def __init__(self, errors: list[str], values: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors
        self.values = values


def read_filters(args: Any) -> tuple[Filters, int, dict[str, str]]:
    """(filters, page, the values to show back in the form) from the query string.

    A bad search field is a :class:`BadSearch` naming it; a bad page number or a parameter the page does
    not know (a tracking tag, an old link) is dropped rather than refused.
    """
    values = {k: v.strip() for k, v in args.items() if v.strip()}
    repeated = sorted(k for k, v in args.lists() if len(v) > 1 and k in FIELDS)
    try:
        query = _QUERY.validate_python(values)
    except ValidationError as exc:
        places = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        bad = sorted(places & set(FIELDS))
        if bad:
            raise BadSearch(bad, values) from None
        query = _QUERY.validate_python({k: v for k, v in values.items() if k in FIELDS})
    if repeated:
        raise BadSearch(repeated, values)
    low, high = (float(query[k].replace(",", ".")) if k in query else None for k in ("ects_min", "ects_max"))
    partner = query.get("partner")
    return (Filters(q=query.get("q"), skill=query.get("skill"), ects_min=low, ects_max=high, eqf=query.get("eqf"),
                    language=query.get("language"), mode=query.get("mode"),
                    partner=None if partner in (None, "all") else partner),
            query.get("page", 1), values)


@dataclass(frozen=True)
class PartnerFeed:
    name: str
    label: str
    harvested: str | None


def partner_feeds(session: Session) -> list[PartnerFeed]:
    """The configured partners, named by their institution when their entries agree on one."""
    configured = [name for name, _url in runtime().settings.catalogue_partners]
    feeds = {f.partner: f for f in session.scalars(select(CatalogueFeed).where(CatalogueFeed.partner.in_(configured)))}
    out = []
    for name in configured:
        feed = feeds.get(name)
        providers = {_first_text((e.view.get("provider") or {}).get("name")) for e in session.scalars(
            select(CatalogueEntry).where(CatalogueEntry.partner == name).limit(50))}
        label = providers.pop() if len(providers) == 1 and None not in providers else name
        when = feed.harvested_at if feed is not None else None
        out.append(PartnerFeed(name, label or name, when.isoformat() if isinstance(when, dt.datetime) else None))
    return out


def _first_text(value: Any) -> str | None:
    if isinstance(value, dict) and value:
        return value.get("en") or next(iter(value.values()))
    return None


def _text(value: dict[str, str] | None, lang: str) -> tuple[str | None, str | None]:
    """(text, its language) in ``lang`` if given, else English, else the first."""
    if not value:
        return None, None
    for key in (lang, "en"):
        if key in value:
            return value[key], key
    key = next(iter(value))
    return value[key], key or None


def _ects(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def partner_card(entry: CatalogueEntry, partner: PartnerFeed, lang: str) -> dict[str, Any]:
    """What the page shows of one harvested learning opportunity (the same keys as our courses)."""
    v = entry.view
    title, title_lang = _text(v.get("title"), lang)
    description, description_lang = _text(v.get("description"), lang)
    labels = catalogue.skill_labels()

    def skill(s: dict[str, Any]) -> dict[str, Any]:
        known = (labels(s["uri"]) if labels else None) or {}
        return {"uri": s["uri"], "label": known.get(lang) or _text(s.get("labels"), lang)[0] or s["uri"]}

    mode_label = _text(v.get("mode_labels"), lang)[0]
    return {
        "partner": partner.name, "partner_label": partner.label,
        "anchor": f"partner-{partner.name}-{entry.position}",
        "title": title or entry.iri, "title_lang": title_lang or lang,
        "description": description, "description_lang": description_lang,
        "outcomes": [{"text": _text(o.get("text"), lang)[0], "skills": [skill(s) for s in o.get("skills") or []]}
                     for o in v.get("outcomes") or []],
        "ects": _ects(v.get("ects")), "eqf_level": v.get("eqf_level"), "isced_f": None,
        "languages": [catalogue.language_name(code, lang) for code in v.get("languages") or []],
        "mode": mode_label, "mode_code": v.get("mode"),
        "learning_setting": None, "learning_setting_code": v.get("learning_setting"),
        "volume_of_learning": v.get("volume_of_learning"),
        "provider": _text((v.get("provider") or {}).get("name"), lang)[0],
        "provider_homepage": (v.get("provider") or {}).get("homepage"),
        "jsonld_url": entry.iri, "page_url": v.get("homepage"),
        "recognition": [],
    }


def listing(lang: str, filters: Filters, page: int, values: dict[str, str]) -> dict[str, Any]:
    """The page's context: the matching courses of this page, counts, partners and paging links."""
    labels = catalogue.skill_labels()
    with runtime().sessions() as session:
        partners = partner_feeds(session)
        matched: list[tuple[str, Any]] = []
        if filters.partner in (None, OURS):
            for row in session.scalars(select(TemplateRow).order_by(TemplateRow.source, TemplateRow.course_id)):
                template = catalogue.parse(row)
                if template is not None and search.matches(search.ours(template, labels), filters):
                    matched.append((OURS, row))
        by_name = {p.name: p for p in partners}
        for p in partners:
            if filters.partner not in (None, p.name):
                continue
            for entry in session.scalars(select(CatalogueEntry).where(CatalogueEntry.partner == p.name)
                                         .order_by(CatalogueEntry.position)):
                item: Searchable = search.harvested(p.name, entry.view)
                if search.matches(item, filters):
                    matched.append((p.name, entry))
        total = len(matched)
        pages = max(1, -(-total // PER_PAGE))
        page = min(page, pages)
        courses = []
        for origin, row in matched[(page - 1) * PER_PAGE: page * PER_PAGE]:
            if origin == OURS:
                card = catalogue.course_view(row, lang)
                if card is not None:
                    card["recognition"] = options.for_our_course(session, row.source, row.course_id)
            else:
                card = partner_card(row, by_name[origin], lang)
                card["recognition"] = options.for_partner_course(session, row.iri, row.view)
            if card is not None:
                courses.append(card)
    languages = sorted({code for code in codelists.LANGUAGES}, key=lambda c: catalogue.language_name(c, lang))
    base = {k: v for k, v in values.items() if k in FIELDS}

    def page_link(number: int) -> str:
        return "?" + urlencode({"lang": lang, **base, **({"page": number} if number > 1 else {})})

    return {
        "courses": courses, "total": total, "page": page, "pages": pages,
        "prev_url": page_link(page - 1) if page > 1 else None,
        "next_url": page_link(page + 1) if page < pages else None,
        "partners": partners, "filtered": filters.active(),
        "shown_partner": by_name.get(filters.partner or ""),
        "search_languages": [(c, catalogue.language_name(c, lang)) for c in languages],
        "values": values,
    }
