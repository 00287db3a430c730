"""CSV and XLSX exports of credentials (for a course or a period): registrars' reports and, later,
the recognition statistics. Rows are streamed from the database; an export holds at most
``EDC_CONSOLE_EXPORT_MAX_ROWS`` credentials (the page says to narrow the filter beyond)."""
from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from bridge.console.queries import learner
from bridge.db.models import Credential

COLUMNS = ("credential_id", "source", "course_id", "learner_id", "learner_name", "learner_email", "status",
           "reason", "received_at", "sealed_at", "revoked_at", "template_version", "batch_id", "deliveries")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def row(cred: Credential) -> list[Any]:
    person = learner(cred)
    deliveries = "; ".join(f"{d.channel}={d.status}" for d in cred.deliveries)
    return [cred.id, cred.source, cred.course_id, cred.learner_id, person["name"], person["email"], cred.status,
            cred.status_reason or cred.error or "", _iso(cred.created_at), _iso(cred.sealed_at),
            _iso(cred.revoked_at), cred.template_version, cred.batch_id or "", deliveries]


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def _defused(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is prefixed with ' (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_stream(rows: Iterable[Credential]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # spreadsheet programs read the file as UTF-8 with a BOM
    writer.writerow(COLUMNS)
    for cred in rows:
        writer.writerow([_defused(v) for v in row(cred)])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_bytes(rows: Iterable[Credential]) -> bytes:
    """An .xlsx workbook written in openpyxl's streaming (write-only) mode."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("credentials")
    header = []
    for name in COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for cred in rows:
        sheet.append([_defused(v) for v in row(cred)])
    with tempfile.TemporaryFile() as handle:
        book.save(handle)
        handle.seek(0)
        return handle.read()
