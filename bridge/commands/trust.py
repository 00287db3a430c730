"""``edc-bridge trust update``: the EU trusted lists, checked and cached as verification anchors."""
from __future__ import annotations

import os
from pathlib import Path

import click


def _default_folder() -> Path:
    return Path(os.environ.get("EDC_DATA_DIR") or "var") / "trust"


@click.group("trust")
def trust() -> None:
    """Trust anchors for verification: the EU List of Trusted Lists and the national lists."""


@trust.command("update")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to keep the checked lists in [default: $EDC_DATA_DIR/trust]; give it to --trust / "
              "EDC_VERIFY_TRUST.")
@click.option("--lotl-url", default=None, help="List of Trusted Lists [default: the EU's].")
@click.option("--lotl-signers", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="PEM certificates the LOTL must be signed with [default: those pyHanko ships, as published "
              "in the Official Journal].")
@click.option("--force", is_flag=True, help="Download every list again, even before its NextUpdate.")
def update(folder: Path | None, lotl_url: str | None, lotl_signers: Path | None, force: bool) -> None:
    """Download the LOTL and the national lists it points to, check each list's XML signature, and keep
    the services granted for qualified certificates (CA/QC) and qualified time-stamps (QTST)."""
    from sealer.certificates import parse_certificates
    from sealer.validation.trusted_lists import TrustedListError
    from sealer.validation.trusted_lists import update as update_lists

    folder = folder or _default_folder()
    signers = parse_certificates(lotl_signers.read_bytes()) if lotl_signers else None
    try:
        result = update_lists(folder, **({"lotl_url": lotl_url} if lotl_url else {}), lotl_signers=signers,
                              force=force)
    except TrustedListError as exc:
        raise click.ClickException(str(exc)) from None
    kept = [entry for entry in result.lists if entry["kind"] == "tl"]
    click.echo(f"{len(kept)} trusted list(s) checked and kept in {folder}: "
               + (", ".join(entry["territory"] for entry in kept) or "none"))
    for refused in result.refused:
        click.echo(f"REFUSED {refused}", err=True)
