"""``edc-bridge seal``: build and seal one credential from a course template and a completion.

This is what a registrar runs before (or instead of) the sidecar: the same assembly, conformance check
and JAdES seal, from two JSON files. Being a one-off, it always runs the full SHACL validation.
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bridge.commands.key_options import key_source_options, open_from_options
from bridge.elm.assemble import assemble
from bridge.elm.completion import Completion
from bridge.elm.conformance import shacl_validate
from bridge.elm.errors import ValidationFailed
from bridge.elm.issuer import Issuer
from bridge.elm.template import CourseTemplate
from sealer.jades import SealingError, dumps, seal_jades
from sealer.keys import KeySourceError
from sealer.ltv import Collector, ValidationDataError


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise click.ClickException(f"cannot read the {what} {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"the {what} {path} is not valid JSON: {exc}") from None


def _skill_labels(esco_data: Path | None) -> Callable[[str], dict[str, str] | None]:
    """ESCO labels from the bundled snapshot (or an imported one), so templates may list bare URIs."""
    from bridge.esco.service import default_service

    return default_service(esco_data).labels


T = TypeVar("T")


@click.command("seal")
@click.option("--template", "template_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Course template JSON (see examples/course-template.json).")
@click.option("--completion", "completion_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Completion JSON: the learner, grade and date (see examples/completion.json).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the sealed credential (.jsonld). Default: standard output.")
@key_source_options
@click.option("--alg", type=click.Choice(["RS256", "PS256", "ES256"]),
              help="Signature algorithm. Default: RS256 for RSA keys, ES256 for EC keys.")
@click.option("--tsa", "tsa_url", metavar="URL", default=lambda: os.environ.get("EDC_TSA_URL") or None,
              help="RFC 3161 time-stamping authority (needed from B-T up). [env EDC_TSA_URL]")
@click.option("--level", type=click.Choice(["B-B", "B-T", "B-LT", "B-LTA"], case_sensitive=False),
              default=lambda: os.environ.get("EDC_SEAL_LEVEL") or None,
              help="JAdES baseline level. Default: B-LTA (as EDC seals) with --tsa, else B-B. B-LT and B-LTA "
              "embed the certificates and OCSP/CRL answers up to the roots that came with the key. "
              "[env EDC_SEAL_LEVEL]")
@click.option("--esco-data", type=click.Path(exists=True, path_type=Path),
              help="ESCO snapshot to take skill labels from (default: the bundled one).")
@click.option("--unsigned", is_flag=True, help="Write the assembled credential without sealing it.")
def seal(template_path: Path, completion_path: Path, output: Path | None, alg: str | None,
         tsa_url: str | None, level: str | None, esco_data: Path | None, unsigned: bool, **key_opts: Any) -> None:
    """Assemble an ELM v3 credential from a course template and a completion, check it against the
    official EDC shapes, and seal it (JAdES) with the organisation's eSeal.

    \b
    Choose the eSeal with one of:
      --pkcs12 seal.p12 (password in EDC_SEAL_PKCS12_PASSWORD or --password-file)
      --pkcs11-module LIB --token-label T --key-label K (PIN in EDC_SEAL_PKCS11_PIN or --pin-file)
      --dev-seal DATA_DIR   (a generated, NOT qualified development seal)
    or the EDC_SEAL_* environment variables used by the sidecar.
    """
    key, _ = open_from_options(key_opts)
    template = _parse(CourseTemplate.from_dict, template_path, "template")
    completion = _parse(Completion.from_dict, completion_path, "completion")
    try:
        issuer = Issuer.from_certificate(key.certificate)
        credential = assemble(template, completion, issuer, skill_labels=_skill_labels(esco_data))
    except ValidationFailed as exc:
        raise click.ClickException(_field_errors(exc, "cannot assemble the credential")) from None
    report = shacl_validate(credential)
    if not report.conforms:
        raise click.ClickException(
            "the credential does not conform to the EDC shapes:\n" + "\n".join(f"  - {m}" for m in report.messages)
        )
    payload = json.dumps(credential, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if unsigned:
        out = payload
    else:
        try:
            level = (level or ("B-LTA" if tsa_url else "B-B")).upper()
            collector = Collector(key.roots) if level in ("B-LT", "B-LTA") and key.roots else None
            out = dumps(seal_jades(payload, key, alg=alg, tsa_url=tsa_url, level=level, validation_data=collector))
        except (SealingError, KeySourceError, ValidationDataError) as exc:
            raise click.ClickException(f"sealing failed: {exc}") from None
    click.echo(f"credential {credential['id']}", err=True)
    _write(out, output)


def _parse(parse: Callable[[Any], T], path: Path, what: str) -> T:
    """Validate one input file, saying which file a field error belongs to."""
    try:
        return parse(_load_json(path, what))
    except ValidationFailed as exc:
        raise click.ClickException(_field_errors(exc, f"invalid {what} {path}")) from None


def _field_errors(exc: ValidationFailed, heading: str) -> str:
    return heading + ":\n" + "\n".join(f"  - {e.field}: {e.message}" for e in exc.errors)


@click.command("seal-xml")
@click.argument("xml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the sealed XML. Default: standard output.")
@key_source_options
@click.option("--tsa", "tsa_url", metavar="URL", default=lambda: os.environ.get("EDC_TSA_URL") or None,
              help="RFC 3161 time-stamping authority: seals at XAdES B-T instead of B-B. [env EDC_TSA_URL]")
def seal_xml(xml_file: Path, output: Path | None, tsa_url: str | None, **key_opts: Any) -> None:
    """Seal an XML credential (legacy EDC / ELM v2 format) with an enveloped XAdES signature (B-B, or B-T
    with --tsa), placed inside vp:proof as EDC's legacy files carry it.

    The XML is not converted or validated against ELM v3: this is for institutions that still
    exchange the legacy XML format. A file that is already sealed is refused: seal the unsigned
    document again. Key options are those of `edc-bridge seal`.
    """
    from sealer.timestamps import TimestampError
    from sealer.xades import XadesError, seal_xades

    key, _ = open_from_options(key_opts)
    try:
        out = seal_xades(xml_file.read_bytes(), key, tsa_url=tsa_url)
    except (XadesError, KeySourceError, TimestampError) as exc:
        raise click.ClickException(f"sealing failed: {exc}") from None
    _write(out, output)


def _write(data: bytes, output: Path | None) -> None:
    """Standard output, or an atomic replace so a reader never sees half a file."""
    if output is None:
        sys.stdout.buffer.write(data + b"\n")
        return
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(output)
    click.echo(f"written to {output}", err=True)
