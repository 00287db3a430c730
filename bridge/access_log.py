"""The access log of ``edc-bridge serve``: one line per request, whatever the request carries.

Gunicorn writes the decoded path (``%(U)s``) as it is, so ``/%0d%0a203.0.113.9 "GET /admin" 200``
in a URL would start a new, forged line in the log. Every value is escaped here instead: control
characters, backslashes and quotes become ``\\xNN``-style escapes, so one request stays one line and
fields cannot be faked.
"""
from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

_ESCAPES = {0x5C: "\\\\", 0x22: "\\x22"}


def escape(value: str) -> str:
    """``value`` with control characters (C0, DEL, C1, line and paragraph separators), the backslash
    and the double quote written as escapes."""
    out = []
    for char in value:
        code = ord(char)
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
        elif code < 0x20 or 0x7F <= code < 0xA0 or code in (0x2028, 0x2029):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


class EscapingLogger(Logger):  # type: ignore[misc]
    """Gunicorn's logger, with every access-log value escaped."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: escape(value) if isinstance(value, str) else value for key, value in atoms.items()}
