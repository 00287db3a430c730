"""``edc-bridge esco``: import ESCO's CSV export, search skills, show one skill."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bridge.esco import snapshot as snapshot_file
from bridge.esco.csv_import import EscoImportError, count_input_files, import_directory
from bridge.esco.model import REUSE_LEVELS, SKILL_TYPES
from bridge.esco.service import EscoQueryError, EscoService, default_service, imported_snapshot_path


def _default_output() -> Path:
    """Imports go where the sidecar's search reads (``$EDC_DATA_DIR``, default ./var)."""
    return imported_snapshot_path()


@click.group("esco")
def esco() -> None:
    """ESCO skills: import the official CSV export, search, show."""


@esco.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Snapshot file to write [default: $EDC_DATA_DIR/esco/esco-snapshot.json.gz].")
@click.option("--esco-version", default=None,
              help="ESCO version to record [default: taken from the folder name, e.g. v1.0].")
def import_command(directory: Path, output: Path | None, esco_version: str | None) -> None:
    """Import an ESCO CSV export folder (skills_<lang>.csv[.gz], skillGroups_<lang>.csv[.gz],
    broaderRelationsSkillPillar.csv[.gz]) into a snapshot. Re-importing the same files leaves the
    snapshot byte-identical."""
    target = output or _default_output()
    try:
        total = count_input_files(directory)
        if sys.stderr.isatty():
            with click.progressbar(length=total, label="Reading ESCO CSV", file=sys.stderr) as bar:
                result = import_directory(directory, esco_version, progress=lambda _name: bar.update(1))
        else:
            result = import_directory(directory, esco_version)
    except EscoImportError as exc:
        raise click.ClickException(str(exc)) from None
    data = snapshot_file.encode(result.esco_version, result.languages, result.concepts)
    try:
        changed = snapshot_file.write(target, data)
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc.strerror or exc}") from None
    click.echo(
        f"ESCO {result.esco_version}: {result.skills} skills, {result.groups} skill groups, "
        f"{result.broader_relations} broader relations, {result.obsolete} obsolete; "
        f"languages {', '.join(result.languages)}"
    )
    if result.skipped:
        click.echo(f"skipped (superseded): {', '.join(result.skipped)}")
    click.echo(f"{'wrote' if changed else 'unchanged'} {target} ({len(data) / 1e6:.2f} MB)")


@esco.command("search")
@click.argument("query")
@click.option("--lang", default="en", show_default=True, help="Language of the query and labels.")
@click.option("--limit", default=10, show_default=True, type=int)
@click.option("--skill-type", type=click.Choice(SKILL_TYPES), default=None)
@click.option("--reuse-level", type=click.Choice(REUSE_LEVELS), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@click.option("--snapshot", type=click.Path(path_type=Path), default=None,
              help="Snapshot file or folder [default: imported one, else bundled].")
def search_command(query: str, lang: str, limit: int, skill_type: str | None, reuse_level: str | None,
                   as_json: bool, snapshot: Path | None) -> None:
    """Search ESCO skills (accent- and case-insensitive, the last word as a prefix)."""
    service = _service(snapshot)
    try:
        hits = service.search(query, lang=lang, limit=limit, skill_type=skill_type,
                              reuse_level=reuse_level)
    except EscoQueryError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("no skill found")
    for hit in hits:
        extra = "" if hit.matched_field == "preferred" else f"  [{hit.matched_field}: {hit.matched_text}]"
        click.echo(f"{hit.uri}  {hit.label}{extra}")


@esco.command("show")
@click.argument("uri")
@click.option("--snapshot", type=click.Path(path_type=Path), default=None,
              help="Snapshot file or folder [default: imported one, else bundled].")
def show_command(uri: str, snapshot: Path | None) -> None:
    """Show one skill (URI or UUID) with all its languages, as JSON."""
    skill = _service(snapshot).get(uri)
    if skill is None:
        raise click.ClickException(f"unknown ESCO skill: {uri}")
    click.echo(json.dumps(skill.to_dict(), ensure_ascii=False, indent=2))


def _service(snapshot: Path | None) -> EscoService:
    try:
        return default_service(snapshot)
    except snapshot_file.SnapshotError as exc:
        raise click.ClickException(str(exc)) from None
