"""``edc-bridge moodle competency-framework``: ESCO skills as a Moodle competency framework CSV."""
from __future__ import annotations

from pathlib import Path

import click

from bridge.esco.moodle_framework import FrameworkError, FrameworkSpec, framework_rows, write_csv
from bridge.esco.service import default_service
from bridge.esco.snapshot import SnapshotError


@click.group("moodle")
def moodle() -> None:
    """Moodle helpers (files to import into Moodle)."""


@moodle.command("competency-framework")
@click.option("--skills", default=None, help="Comma-separated ESCO skill URIs (or UUIDs).")
@click.option("--all", "all_skills", is_flag=True, help="Every released ESCO skill.")
@click.option("--group", default=None, help="Every skill below this ESCO skill group URI.")
@click.option("--lang", default="en", show_default=True, help="Language of names and descriptions.")
@click.option("--hierarchy", is_flag=True, help="Nest skills under their ESCO broader skills/groups.")
@click.option("--idnumber", default=None, help="Framework id number [default: esco-<version>-<lang>].")
@click.option("--name", default=None, help="Framework short name [default: ESCO <version> (<lang>)].")
@click.option("--snapshot", type=click.Path(path_type=Path), default=None,
              help="Snapshot file or folder [default: imported one, else bundled].")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV file to write (import it with Site administration > Competencies > Import).")
def competency_framework(skills: str | None, all_skills: bool, group: str | None, lang: str,
                         hierarchy: bool, idnumber: str | None, name: str | None,
                         snapshot: Path | None, output: Path) -> None:
    """Write a tool_lpimportcsv framework whose competencies carry ESCO URIs as id numbers."""
    try:
        service = default_service(snapshot)
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    if lang not in service.languages:
        raise click.BadParameter(f"must be one of {', '.join(service.languages)}", param_hint="--lang")
    uris = tuple(u.strip() for u in (skills or "").split(",") if u.strip())
    spec = FrameworkSpec(lang=lang, skills=uris, all_skills=all_skills, group=group,
                         hierarchy=hierarchy, idnumber=idnumber, name=name)
    try:
        rows = framework_rows(service, spec)
    except FrameworkError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        output.write_text(write_csv(rows), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output}: framework + {len(rows) - 1} competencies")
