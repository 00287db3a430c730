"""A finished e-mail as the bytes that go on the wire, written directly instead of through ``EmailMessage``.

Building the credential e-mail with ``EmailMessage`` (header registry parsing of every header, the
content manager, then the generator re-folding it all when smtplib flattens it) cost several times
more CPU than rendering the texts. The message always has the same shape, so it is written here
directly with the stdlib encoders, and the transports send these bytes as they are.

What the bytes respect:

- CRLF line ends everywhere, every line at most 998 octets; headers are folded at 78 characters
  where a fold cannot change their meaning (between words, between RFC 2047 encoded words).
- Non-ASCII header text travels as RFC 2047 encoded words (UTF-8, ``q`` or ``b``, whichever is
  shorter), or as raw UTF-8 when the message must go with SMTPUTF8 anyway (RFC 6532), exactly as
  the email package does with ``utf8=True``.
- A display name is one encoded word, as the email package writes it: Python's own address parser
  keeps the space between two encoded words of a phrase (RFC 2047 says to drop it), so only one
  word decodes the same everywhere. It is split only if the line would exceed 998 octets.
- Text parts are ``7bit`` when ASCII with short lines, else quoted-printable or base64, whichever
  is shorter; binary parts are base64 in 76-character lines.
"""
from __future__ import annotations

import base64
import binascii
import random
from collections.abc import Iterable, Iterator

CRLF = b"\r\n"
MAX_LINE = 78  # where headers are folded and beyond which a text part is not sent as 7bit
_HARD_LIMIT = 998  # RFC 5322 line limit, in octets, without the CRLF
_SPECIALS = frozenset('()<>@,:;.\\"[]')

# RFC 2047 ``Q`` encoding restricted to what is allowed inside a phrase (section 5 (3)); it is also
# valid in unstructured headers. Space becomes "_".
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q_TABLE = tuple(chr(b) if b in _Q_SAFE else "_" if b == 0x20 else f"={b:02X}" for b in range(256))
_EW_PREFIX_Q, _EW_PREFIX_B, _EW_SUFFIX = "=?utf-8?q?", "=?utf-8?b?", "?="
_EW_ROOM = 75 - len(_EW_PREFIX_Q) - len(_EW_SUFFIX)  # encoded text per word: 63 characters
_B_BYTES = _EW_ROOM // 4 * 3  # octets per ``b`` word: 45 (60 characters)


def _q(data: bytes) -> str:
    return "".join(map(_Q_TABLE.__getitem__, data))


def encoded_words(text: str, *, split: bool = True) -> list[str]:
    """``text`` as RFC 2047 encoded words of UTF-8; ``split``: each at most 75 characters.

    Words are cut between characters, never inside one, and carry their own spaces, so decoders
    (which drop the white space between two encoded words) give back ``text`` exactly.
    """
    data = text.encode("utf-8")
    q = _q(data)
    use_b = (len(data) + 2) // 3 * 4 < len(q)
    if not split or (len(data) <= _B_BYTES if use_b else len(q) <= _EW_ROOM):
        if use_b:
            return [_EW_PREFIX_B + base64.b64encode(data).decode("ascii") + _EW_SUFFIX]
        return [_EW_PREFIX_Q + q + _EW_SUFFIX]
    words: list[str] = []
    chunk: list[bytes] = []
    size = 0
    for char in text:
        raw = char.encode("utf-8")
        cost = len(raw) if use_b else len(_q(raw))
        if chunk and size + cost > (_B_BYTES if use_b else _EW_ROOM):
            words.append(_word(b"".join(chunk), use_b))
            chunk, size = [], 0
        chunk.append(raw)
        size += cost
    if chunk:
        words.append(_word(b"".join(chunk), use_b))
    return words


def _word(data: bytes, use_b: bool) -> str:
    if use_b:
        return _EW_PREFIX_B + base64.b64encode(data).decode("ascii") + _EW_SUFFIX
    return _EW_PREFIX_Q + _q(data) + _EW_SUFFIX


def _check_value(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name!r} must not contain line breaks")


def fold(name: str, tokens: Iterable[str]) -> bytes:
    """``Name: tok tok …`` with CRLF + space in place of a separating space where a line passes 78."""
    lines: list[str] = []
    line = name + ":"
    first = True
    for token in tokens:
        if not first and len(line) + 1 + len(token) > MAX_LINE:
            lines.append(line)
            line = " " + token
        else:
            line += " " + token
        first = False
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def unstructured(name: str, value: str, *, utf8: bool = False) -> bytes:
    """An unstructured header (Subject, Message-ID, Date, …): folded at spaces, encoded if needed."""
    _check_value(name, value)
    if "=?" not in value and (value.isascii() or utf8):
        tokens = value.split(" ")
        if max(len(t.encode("utf-8")) for t in tokens) <= _HARD_LIMIT - len(name) - 3:
            return fold(name, tokens)
    return fold(name, encoded_words(value))


def quote_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def address(name: str, display_name: str, addr_spec: str, *, utf8: bool = False) -> tuple[bytes, str]:
    """An address header with one mailbox; returns the wire bytes and the readable ``Name <addr>``."""
    _check_value(name, display_name + addr_spec)
    if not display_name:
        return fold(name, [addr_spec]), addr_spec
    shown = quote_string(display_name) if not _SPECIALS.isdisjoint(display_name) else display_name
    angle = f"<{addr_spec}>"
    room = _HARD_LIMIT - len(name) - 3 - len(angle.encode("utf-8"))
    if "=?" not in display_name and (display_name.isascii() or utf8) and len(shown.encode("utf-8")) <= room:
        phrase = [shown]
    else:
        phrase = encoded_words(display_name, split=False)
        if len(phrase[0]) > room:
            phrase = encoded_words(display_name)
    return fold(name, [*phrase, angle]), f"{shown} <{addr_spec}>"


def text_part(subtype: str, text: str) -> bytes:
    """A ``text/<subtype>; charset="utf-8"`` part (headers, blank line, body), CRLF line ends.

    Line ends are normalised to LF first, as the email package does; base64 encodes the text with
    LF line ends, also like it, so a client decodes exactly the text that was rendered.
    """
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    if not data.endswith(b"\n"):
        data += b"\n"
    if data.isascii() and max(map(len, data.split(b"\n"))) <= MAX_LINE:
        cte, payload = "7bit", data.replace(b"\n", CRLF)
    else:
        qp = binascii.b2a_qp(data, istext=True).replace(b"\n", CRLF)
        b64 = base64_lines(data)
        cte, payload = ("quoted-printable", qp) if len(qp) <= len(b64) else ("base64", b64)
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n'
    return head.encode("ascii") + payload


def attachment_part(content_type: str, filename: str, data: bytes) -> bytes:
    """A base64 attachment part; ``filename`` must already be a safe ASCII token (no quotes)."""
    disposition = fold("Content-Disposition", ["attachment;", f'filename="{filename}"'])
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n".encode("ascii")
    return head + disposition + CRLF + base64_lines(data)


def base64_lines(data: bytes) -> bytes:
    """Base64 in 76-character lines, each ending with CRLF (one C call, then slicing)."""
    encoded = base64.b64encode(data)
    if not encoded:
        return b""
    return CRLF.join([encoded[i:i + 76] for i in range(0, len(encoded), 76)]) + CRLF


def _boundary(parts: Iterable[bytes]) -> str:
    """A boundary found in no part ("=_" cannot occur in base64 or quoted-printable text at all)."""
    while True:
        boundary = f"=_{random.getrandbits(96):024x}"
        marker = b"--" + boundary.encode("ascii")
        if not any(marker in part for part in parts):
            return boundary


def multipart(subtype: str, parts: list[bytes]) -> tuple[str, bytes]:
    """The ``Content-Type`` value and the body of a ``multipart/<subtype>`` made of ``parts``.

    Parts end with CRLF (their last line) and the delimiter after them starts with its own CRLF
    (RFC 2046), exactly as the email package writes it: a text part decodes with its final line end.
    """
    boundary = _boundary(parts)
    delimiter = b"--" + boundary.encode("ascii")
    body = b"".join([b"".join((delimiter, CRLF, part, CRLF)) for part in parts]) + delimiter + b"--" + CRLF
    return f'multipart/{subtype}; boundary="{boundary}"', body


def mime_part(content_type: str, body: bytes) -> bytes:
    """A nested part made of a Content-Type header and an already encoded body."""
    return fold("Content-Type", content_type.split(" ")) + CRLF + body


class OutgoingMessage:
    """A message ready to send: the SMTP envelope plus the exact bytes (CRLF line ends).

    Headers can be read (``msg["Subject"]`` gives the text, decoded), removed and added
    (``msg["Message-ID"] = …``, an unstructured value) without touching the already encoded body.
    """

    __slots__ = ("mail_from", "recipients", "smtputf8", "body", "_headers")

    def __init__(self, *, mail_from: str, recipients: Iterable[str], headers: Iterable[tuple[str, str, bytes]],
                 body: bytes, smtputf8: bool = False) -> None:
        self.mail_from = mail_from
        """Envelope sender (``MAIL FROM``): the From address."""
        self.recipients = tuple(recipients)
        """Envelope recipients (``RCPT TO``)."""
        self.smtputf8 = smtputf8
        """An address has a non-ASCII local part: needs a server offering SMTPUTF8 (RFC 6531)."""
        self.body = body
        """Everything after the header block, ending with CRLF."""
        self._headers = list(headers)  # (name, readable value, wire bytes with CRLF)

    @property
    def mail_options(self) -> tuple[str, ...]:
        return ("SMTPUTF8", "BODY=8BITMIME") if self.smtputf8 else ()

    def __getitem__(self, name: str) -> str | None:
        """The first header of that name, as text (None when absent, like ``email.message``)."""
        return self.get(name)

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.lower()
        return next((value for n, value, _ in self._headers if n.lower() == key), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __setitem__(self, name: str, value: str) -> None:
        """Append a header (like ``email.message``, never replacing one already there)."""
        self._headers.append((name, value, unstructured(name, value, utf8=self.smtputf8)))

    def __delitem__(self, name: str) -> None:
        key = name.lower()
        self._headers = [h for h in self._headers if h[0].lower() != key]

    def keys(self) -> list[str]:
        return [name for name, _, _ in self._headers]

    def items(self) -> Iterator[tuple[str, str]]:
        return ((name, value) for name, value, _ in self._headers)

    def as_bytes(self) -> bytes:
        """The whole message as sent by SMTP or written to an ``.eml`` file."""
        return b"".join(wire for _, _, wire in self._headers) + CRLF + self.body

    __bytes__ = as_bytes

    def __repr__(self) -> str:
        return f"<OutgoingMessage {self.get('Message-ID')} {len(self.body)} body bytes>"
