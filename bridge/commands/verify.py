"""``edc-bridge verify``: check a sealed credential the way a receiving institution would."""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from bridge.verify import verify_credential

MAX_FILE_BYTES = 20 * 1024 * 1024


EXIT_CODES = {"valid": 0, "invalid": 1, "indeterminate": 2}


@click.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the verification report (version 1) as JSON.")
@click.option(
    "--trust",
    type=click.Path(exists=True, path_type=Path),
    help="What seals and time-stamps must chain to: CA certificates (a PEM/DER file or a directory of them) "
    "or the trusted-list folder written by 'edc-bridge trust update'. Without it no seal is called valid.",
)
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"]),
              help="Validation time (UTC, e.g. 2031-01-01T00:00:00Z); default now.")
@click.option("--offline", is_flag=True,
              help="Never ask OCSP responders or CRL servers; use the revocation data embedded in the seal.")
@click.option("--lang", default="en", show_default=True, help="Language of the summary (e.g. en, fr).")
@click.option("--report", "report_format", type=click.Choice(["text", "html"]),
              help="Print the recognition report (plain text, or a self-contained HTML page to archive or "
              "print) as the sidecar's verification page shows it.")
def verify(file: Path, as_json: bool, trust: Path | None, at: dt.datetime | None, offline: bool, lang: str,
           report_format: str | None) -> None:
    """Verify the seal and the content of a credential FILE ('-' reads standard input).

    Accepts JAdES-sealed JSON-LD credentials (ELM v3, as EDC and EDC Bridge issue them) and legacy
    XAdES-sealed XML credentials. Every output mode shows the same verification. Exit status: 0 valid
    (TOTAL-PASSED: the seal chains to the anchors, the issuer is the sealer, the content conforms);
    1 invalid (TOTAL-FAILED: forged, changed, revoked, issuer mismatch, not conformant); 2 indeterminate
    (e.g. no --trust, no chain to the anchors, certificate expired with no proof of existence,
    revocation unknown) — 2 is also click's code for command-line usage errors.
    """
    if as_json and report_format:
        raise click.UsageError("--json and --report are alternatives; give one of them")
    data = _read(file)
    moment = at.replace(tzinfo=dt.UTC) if at is not None else None
    report = verify_credential(data, trust=trust, lang=lang, at=moment, fetch=not offline)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    elif report_format:
        from bridge.web.report import cli_trust_hint, render_report

        name = "stdin" if str(file) == "-" else file.name
        click.echo(render_report(report, report_format, lang, filename=name,
                                 untrusted_hint=None if trust else cli_trust_hint(lang)))
    else:
        click.echo(_render(report))
    sys.exit(EXIT_CODES[report["verdict"]])


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
    seal = report.get("seal") or {}
    cert = seal.get("certificate") or {}
    trust = seal.get("trust") or {}
    verdict = report["verdict"].upper()
    if report.get("sub_indication"):
        verdict += f" ({report['sub_indication']})"
    issuer = report.get("issuer") or {}
    lines = [
        f"Verdict:            {verdict}",
        f"Format:             {seal.get('format') or '-'} {seal.get('level') or ''}".rstrip(),
        f"Signature intact:   {_yes_no(seal.get('signature_intact'))}",
        f"Sealed by:          {cert.get('organization_name') or cert.get('subject') or '-'}",
        f"Organisation id:    {cert.get('organization_identifier') or '-'}",
        f"Certificate valid:  {cert.get('not_before', '-')} to {cert.get('not_after', '-')}",
        f"Signing time:       {seal.get('signing_time_claimed') or '-'} (claimed)",
        f"Proof of existence: {seal.get('proof_of_existence') or 'none (no trusted time-stamp)'}",
        f"Trusted chain:      {_yes_no(trust.get('chain_trusted'), 'not checked (no --trust given)')}",
        f"Revocation:         {(seal.get('revocation') or {}).get('status', '-')}",
        f"Issuer is sealer:   {_yes_no(issuer.get('matches_sealer'), 'not applicable')}",
        f"Content conforms:   {_yes_no((report.get('content') or {}).get('conforms'), 'not checked')}",
    ]
    qualification = seal.get("qualification") or {}
    if qualification.get("qualified_seal"):
        lines.append("Qualification:      qualified electronic seal")
    summary = report.get("credential") or {}
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
    problems = [*report.get("errors", []), *(report.get("content") or {}).get("messages", [])]
    if problems:
        lines += ["", "Problems:"] + [f"  - {p}" for p in problems]
    if report.get("warnings"):
        lines += ["", "Notes:"] + [f"  - {w}" for w in report["warnings"]]
    return "\n".join(lines)
