"""``edc-bridge verify``: check a sealed credential the way a receiving institution would."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from bridge.verify import verify_credential

MAX_FILE_BYTES = 20 * 1024 * 1024


@click.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option(
    "--trust",
    type=click.Path(exists=True, path_type=Path),
    help="CA certificates to trust (a PEM/DER file or a directory of them). Without it, 'trusted' is "
    "reported as not checked.",
)
@click.option("--lang", default="en", show_default=True, help="Language of the summary (e.g. en, fr).")
@click.option("--report", "report_format", type=click.Choice(["text", "html"]),
              help="Print the recognition report (plain text, or a self-contained HTML page to archive or "
              "print) as the sidecar's verification page shows it.")
def verify(file: Path, as_json: bool, trust: Path | None, lang: str, report_format: str | None) -> None:
    """Verify the seal and the content of a credential FILE ('-' reads standard input).

    Accepts JAdES-sealed JSON-LD credentials (ELM v3, as EDC and EDC Bridge issue them) and legacy
    XAdES-sealed XML credentials. Exit status 0 only when the seal is valid (and trusted, when --trust
    is given) and the content conforms to the official EDC shapes; 1 otherwise; 2 for usage errors.
    """
    if as_json and report_format:
        raise click.UsageError("--json and --report are alternatives; give one of them")
    data = _read(file)
    if report_format:
        _recognition_report(data, file, report_format, trust, lang)
    report = verify_credential(data, trust_dir=trust, lang=lang).to_dict()
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        click.echo(_render(report))
    sys.exit(0 if report["ok"] else 1)


def _recognition_report(data: bytes, file: Path, fmt: str, trust: Path | None, lang: str) -> None:
    from bridge.recognition import recognise
    from bridge.web.report import cli_trust_hint, render_report

    report = recognise(data, lang=lang, trust_dir=trust)
    name = "stdin" if str(file) == "-" else file.name
    click.echo(render_report(report, fmt, lang, filename=name, untrusted_hint=None if trust else cli_trust_hint(lang)))
    sys.exit(0 if report["ok"] else 1)


def _read(file: Path) -> bytes:
    if str(file) == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    else:
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                raise click.UsageError(f"{file} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
            data = file.read_bytes()
        except OSError as exc:
            raise click.UsageError(f"cannot read {file}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise click.UsageError(f"input is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    return data


def _yes_no(value: bool | None, unknown: str = "not checked") -> str:
    return unknown if value is None else ("yes" if value else "NO")


def _render(report: dict[str, Any]) -> str:
    """A registrar-readable text report; the JSON form carries the same facts."""
    cert = report.get("certificate") or {}
    lines = [
        f"Verdict:            {'VALID' if report['ok'] else 'NOT VALID'}",
        f"Format:             {report.get('format')} {report.get('level') or ''}".rstrip(),
        f"Signature valid:    {_yes_no(report.get('signature_valid'))}",
        f"Sealed by:          {cert.get('organization_name') or cert.get('subject') or '-'}",
        f"Organisation id:    {cert.get('organization_identifier') or '-'}",
        f"Certificate valid:  {cert.get('not_before', '-')} to {cert.get('not_after', '-')}",
        f"Signing time:       {report.get('signing_time') or '-'}",
        f"Trusted chain:      {_yes_no(report.get('trusted'), 'not checked (no --trust given)')}",
        f"Content conforms:   {_yes_no(report.get('shacl_conforms'), 'not applicable')}",
    ]
    summary = report.get("summary") or {}
    if summary:
        learner = summary.get("learner") or {}
        issuer = summary.get("issuer") or {}
        lines += [
            "",
            f"Credential:         {summary.get('title') or '-'}",
            f"Learner:            {learner.get('name') or '-'}",
            f"Issuer:             {issuer.get('name') or '-'} ({issuer.get('eidas_identifier') or '-'})",
            f"Issued:             {summary.get('issued') or '-'}",
        ]
        for achievement in summary.get("achievements") or []:
            lines.append(f"Achievement:        {achievement.get('title') or '-'}")
            if achievement.get("ects") is not None:
                lines.append(f"  ECTS credits:     {achievement['ects']}")
            if achievement.get("eqf_level") is not None:
                lines.append(f"  EQF level:        {achievement['eqf_level']}")
            for field in achievement.get("isced_f") or []:
                lines.append(f"  ISCED-F field:    {field.get('code')} {field.get('label') or ''}".rstrip())
            if achievement.get("grade"):
                lines.append(f"  Grade:            {achievement['grade']}")
            for skill in achievement.get("esco_skills") or []:
                lines.append(f"  ESCO skill:       {skill.get('label') or '-'} <{skill.get('uri')}>")
    problems = [*report.get("errors", []), *report.get("shacl_messages", [])]
    if problems:
        lines += ["", "Problems:"] + [f"  - {p}" for p in problems]
    if report.get("warnings"):
        lines += ["", "Notes:"] + [f"  - {w}" for w in report["warnings"]]
    return "\n".join(lines)
