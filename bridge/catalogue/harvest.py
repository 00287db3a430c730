"""Harvesting partners' catalogue feeds into the database, keeping the last good copy.

For each partner of ``EDC_CATALOGUE_PARTNERS``: ask the first page conditionally (the validators of
the last good harvest), follow the pages (at most ``EDC_CATALOGUE_MAX_PAGES``, each at most
``EDC_CATALOGUE_MAX_BYTES``, all within ``EDC_CATALOGUE_TIMEOUT`` seconds), read them as ELM JSON-LD,
check every learning opportunity with the LOQ shapes, and replace the partner's entries in one
transaction. Anything refused (malformed, oversized, too slow, too many entries, no conformant
learning opportunity) or unreachable leaves the previous entries untouched; the reason is logged and
kept on the feed's row for staff. Reasons name limits and HTTP facts, never feed content, so no
personal data (a contact point's name or address) reaches a log.

Idempotent: harvesting twice stores the same entries, and a ``304`` changes nothing but the time of
the check. Celery beat runs :func:`harvest_all` every ``EDC_CATALOGUE_HARVEST_INTERVAL`` seconds, so
does the embedded loop of ``edc-bridge serve``, and ``edc-bridge catalogue harvest`` on demand.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import requests
from rdflib import Graph
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from bridge.catalogue.fetch import Fetcher, Refused
from bridge.catalogue.read import check, opportunities, read_page
from bridge.config import Settings
from bridge.db.models import CatalogueEntry, CatalogueFeed, utcnow

log = logging.getLogger(__name__)

# A feed whose first page stays unchanged is still read in full once a day, for publishers whose
# first page's validators do not cover the later pages.
FULL_REFRESH = dt.timedelta(days=1)


@dataclass(frozen=True)
class Outcome:
    """``status``: ``harvested``, ``unchanged`` (304), ``refused`` or ``failed`` (previous copy kept)."""

    partner: str
    status: str
    entries: int = 0
    left_out: int = 0
    pages: int = 0
    reason: str | None = None


@dataclass
class _Harvest:
    views: list[dict]
    left_out: int
    pages: int
    etag: str | None
    last_modified: str | None
    problems: list[str]


def _collect(fetcher: Fetcher, url: str, settings: Settings, etag: str | None,
             last_modified: str | None) -> _Harvest | None:
    """Every page of the feed, checked; None when the first page is not modified."""
    page = fetcher.get(url, etag=etag, last_modified=last_modified)
    if page.status == 304:
        return None
    first = page
    seen = {url, page.url}
    combined = Graph()
    order: list[str] = []
    count = 0
    while True:
        count += 1
        read = read_page(page.body)
        combined += read.graph
        order.extend(read.ids)
        if len(opportunities(combined)) > settings.catalogue_max_entries:
            raise Refused(f"more than {settings.catalogue_max_entries} learning opportunities")
        following = page.next_url or read.next_url
        if not following:
            break
        if following in seen:
            raise Refused("the pages link back to an earlier page")
        if count >= settings.catalogue_max_pages:
            raise Refused(f"more than {settings.catalogue_max_pages} pages")
        seen.add(following)
        page = fetcher.get(following)
        if page.status != 200:
            raise Refused(f"page {count + 1} answered {page.status}")
    found = len(opportunities(combined))
    if not found and len(combined):
        raise Refused("no LearningOpportunity in the feed")
    checked = check(combined, order)
    fetcher.check_time()
    if found and not checked.views:
        raise Refused(f"none of its {found} learning opportunities conforms to the LOQ shapes "
                      f"({', '.join(checked.problems[:8])})")
    return _Harvest(checked.views, checked.left_out, count, first.etag, first.last_modified, checked.problems)


def harvest_partner(sessions: sessionmaker[Session], settings: Settings, partner: str, url: str, *,
                    http: requests.Session | None = None, now: dt.datetime | None = None) -> Outcome:
    """Harvest one partner's feed (see the module docstring); never raises for the feed's faults."""
    now = now or utcnow()
    with sessions() as session:
        feed = session.get(CatalogueFeed, partner)
        if feed is None:
            feed = CatalogueFeed(partner=partner, url=url, status="never", entries=0, left_out=0, pages=0)
            session.add(feed)
            session.commit()
        fresh = (feed.url == url and feed.harvested_at is not None and now - feed.harvested_at < FULL_REFRESH)
        etag, last_modified = (feed.etag, feed.last_modified) if fresh else (None, None)
    fetcher = Fetcher(max_bytes=settings.catalogue_max_bytes, timeout=settings.catalogue_timeout, session=http)
    try:
        harvest = _collect(fetcher, url, settings, etag, last_modified)
    except Refused as exc:
        with sessions() as session:
            feed = session.get(CatalogueFeed, partner)
            assert feed is not None
            feed.status, feed.reason, feed.checked_at = exc.kind, exc.reason[:500], now
            session.commit()
            kept = feed.entries
        log.warning("catalogue harvest of %s %s (%s); its last good copy (%d entries) is kept",
                    partner, exc.kind, exc.reason, kept)
        return Outcome(partner, exc.kind, entries=kept, reason=exc.reason)
    with sessions() as session:
        feed = session.get(CatalogueFeed, partner)
        assert feed is not None
        if harvest is None:
            feed.status, feed.reason, feed.checked_at = "ok", None, now
            session.commit()
            log.info("catalogue harvest of %s: not modified (%d entries)", partner, feed.entries)
            return Outcome(partner, "unchanged", entries=feed.entries, left_out=feed.left_out, pages=feed.pages)
        session.execute(delete(CatalogueEntry).where(CatalogueEntry.partner == partner))
        session.add_all(CatalogueEntry(partner=partner, iri=v["iri"], position=i, view=v)
                        for i, v in enumerate(harvest.views))
        reason = (f"{harvest.left_out} learning opportunit(ies) left out: not conformant to the LOQ shapes "
                  f"({', '.join(harvest.problems[:8])})" if harvest.left_out else None)
        feed.url, feed.etag, feed.last_modified = url, harvest.etag, harvest.last_modified
        feed.status, feed.reason, feed.checked_at, feed.harvested_at = "ok", reason, now, now
        feed.entries, feed.left_out, feed.pages = len(harvest.views), harvest.left_out, harvest.pages
        session.commit()
    log.info("catalogue harvest of %s: %d learning opportunities from %d page(s), %d left out",
             partner, len(harvest.views), harvest.pages, harvest.left_out)
    return Outcome(partner, "harvested", entries=len(harvest.views), left_out=harvest.left_out,
                   pages=harvest.pages, reason=reason)


def harvest_all(sessions: sessionmaker[Session], settings: Settings, *, only: str | None = None,
                http: requests.Session | None = None) -> list[Outcome]:
    """Harvest every configured partner (or ``only`` that one), one after the other."""
    outcomes = []
    for partner, url in settings.catalogue_partners:
        if only is None or partner == only:
            outcomes.append(harvest_partner(sessions, settings, partner, url, http=http))
    return outcomes
