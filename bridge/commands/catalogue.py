"""``edc-bridge catalogue harvest|status``: the partners' catalogue feeds of ``EDC_CATALOGUE_PARTNERS``."""
from __future__ import annotations

import logging

import click

from bridge.config import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def catalogue() -> None:
    """The alliance catalogue: partners' learning opportunities harvested from their feeds."""


@catalogue.command("harvest")
@click.option("--partner", help="Harvest this partner only (a name of EDC_CATALOGUE_PARTNERS).")
def harvest(partner: str | None) -> None:
    """Harvest the partners' feeds now (what Celery beat does every EDC_CATALOGUE_HARVEST_INTERVAL).

    Exits with status 1 when a feed was refused or unreachable (its last good copy is kept).
    """
    from bridge.catalogue.harvest import harvest_all
    from bridge.db.migrate import upgrade
    from bridge.db.session import session_factory

    settings = _settings()
    names = [name for name, _url in settings.catalogue_partners]
    if not names:
        raise click.ClickException("no partner feed: set EDC_CATALOGUE_PARTNERS (name=URL …)")
    if partner is not None and partner not in names:
        raise click.BadParameter(f"not in EDC_CATALOGUE_PARTNERS ({', '.join(names)})", param_hint="--partner")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    upgrade(settings.database_url)
    outcomes = harvest_all(session_factory(settings.database_url), settings, only=partner)
    for o in outcomes:
        line = f"{o.partner}: {o.status}, {o.entries} learning opportunit(ies)"
        if o.status == "harvested":
            line += f" from {o.pages} page(s), {o.left_out} left out"
        if o.reason:
            line += f" ({o.reason})"
        click.echo(line)
    if any(o.status in ("refused", "failed") for o in outcomes):
        raise SystemExit(1)


@catalogue.command("status")
def status() -> None:
    """Each partner feed: last check, last good harvest, entries, and why the last harvest was refused."""
    from sqlalchemy import select

    from bridge.db.migrate import upgrade
    from bridge.db.models import CatalogueFeed
    from bridge.db.session import session_factory

    settings = _settings()
    upgrade(settings.database_url)
    with session_factory(settings.database_url)() as session:
        feeds = {f.partner: f for f in session.scalars(select(CatalogueFeed))}
    for name, url in settings.catalogue_partners:
        feed = feeds.get(name)
        if feed is None:
            click.echo(f"{name}\t{url}\tnever harvested")
            continue
        when = feed.harvested_at.isoformat() if feed.harvested_at else "never"
        click.echo(f"{name}\t{url}\t{feed.status}\t{feed.entries} entries\tlast good harvest {when}"
                   + (f"\t{feed.reason}" if feed.reason else ""))
