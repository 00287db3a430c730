"""JAdES seals in bulk: one :class:`JadesSealer` per key, so per-key work is done once, not per seal.

:func:`sealer.jades.seal_jades` stays the reference implementation; this produces the same JWS JSON
(the same protected header members in the same order, the same serialization). What differs is
where the time goes. Per key, once: the certificate members (``kid``, ``x5t#S256``, ``x5c``) and
the JSON text of the header around ``sigT``. Per second: the base64url protected header, since
without a TSA only ``sigT`` changes and it has one-second resolution. Per seal: the signature, and
the JWS JSON written by concatenating bytes. JSON-escaping a 20 KB payload for the ``payload``
member costs about as much as everything else together, so a caller that already has the escaped
text (``bridge.elm.compiled`` renders both) passes it in.
"""
from __future__ import annotations

import calendar
import datetime as dt
import time
from json.encoder import encode_basestring  # type: ignore[attr-defined]

from cryptography.hazmat.primitives.serialization import Encoding

from sealer import timestamps
from sealer.jades.seal import (
    SIGT_FORMAT,
    SealingError,
    ValidationDataSource,
    archive_entry,
    check_level,
    gather,
    key_header,
    long_term_entries,
    timestamp,
    tst_tokens,
)
from sealer.jose import b64url_encode, compact_json
from sealer.keys import KeySource

__all__ = ["JadesSealer"]


class JadesSealer:
    """Seals payloads with one key; ``seal`` is thread-safe (the per-second cache is one tuple)."""

    def __init__(
        self,
        key: KeySource,
        *,
        alg: str | None = None,
        tsa_url: str | None = None,
        kid: bool = True,
        content_timestamp: bool = True,
        level: str | None = None,
        validation_data: ValidationDataSource | None = None,
    ) -> None:
        self.key = key
        self.alg = alg or key.default_alg
        self.tsa_url = tsa_url
        self.level = check_level(level, tsa_url, validation_data)
        self._validation_data = validation_data
        self._content_timestamp = self.level != "B-B" and content_timestamp
        header = compact_json(key_header(key, self.alg, kid=kid))
        # '{"alg":…,"b64":false}' -> '{"alg":…,"b64":false,"sigT":"' + sigT + '",' + rest.
        self._head = header[:-1] + b',"sigT":"'
        self._crit = b'"crit":["b64","sigT"]}'
        self._cached: tuple[int, bytes] = (-1, b"")

    def seal(
        self, payload: bytes, *, escaped: bytes | None = None, signing_time: dt.datetime | None = None
    ) -> bytes:
        """The sealed file's bytes for ``payload`` (UTF-8 JSON text): what ``dumps(seal_jades(...))``
        gives with this key and options.

        ``escaped`` is ``payload`` JSON-string-escaped without quotes (as json.dumps with
        ensure_ascii=False escapes); when given it is trusted, which is the point: it saves escaping
        the payload here. ``signing_time`` defaults to now. At B-LT/B-LTA the validation data is
        gathered for this seal alone (see :meth:`seal_chunk` to share it).
        """
        return self.seal_chunk([(payload, escaped)], signing_time=signing_time)[0]

    def seal_chunk(
        self, items: list[tuple[bytes, bytes | None]], *, signing_time: dt.datetime | None = None
    ) -> list[bytes]:
        """Seal several payloads ((payload, escaped or None) pairs), sharing what the standard lets
        seals share.

        Each seal has its own signature, content and signature time-stamps (their imprints are this
        seal's payload and signature value). The validation data of B-LT (certificates, OCSP/CRL
        answers for the seal's chain and the TSA's) is the same for every seal of one key: it is
        gathered once, after the last signature time-stamp of the chunk, so every answer post-dates
        the signature time-stamp of every seal it is embedded in (what EN 319 102-1 needs to validate
        them in the past). Archive time-stamps cover each seal's own bytes, so there is one per seal.
        """
        parts = [self._signed(payload, escaped, signing_time) for payload, escaped in items]
        if self.level in ("B-B", "B-T"):
            return [b"".join(p[0]) for p in parts]
        assert self._validation_data is not None and self.tsa_url is not None
        tokens = {p[2].signer.public_bytes(Encoding.DER): p[2] for p in parts if p[2] is not None}
        data = gather(self._validation_data, self.key.chain, list(tokens.values()))
        shared = long_term_entries(data, self.key.chain)
        out = []
        for head, (payload, _escaped), (_parts, protected, _token, signature, sig_tst) in zip(
                [p[0] for p in parts], items, parts, strict=True):
            etsi_u = [sig_tst, *shared]
            if self.level == "B-LTA":
                etsi_u.append(archive_entry(self.tsa_url, bytes(payload), protected, signature, etsi_u))
            entries = b'","'.join(e.encode("ascii") for e in etsi_u)
            out.append(b"".join([*head[:4], b'","header":{"etsiU":["', entries, b'"]}',
                                 b',"signature":"', signature, b'"}]}']))
        return out

    def _signed(
        self, payload: bytes, escaped: bytes | None, signing_time: dt.datetime | None
    ) -> tuple[list[bytes], bytes, timestamps.TimestampToken | None, bytes, str]:
        """(the B-B/B-T file as parts, protected header, signature time-stamp, signature, sigTst entry)."""
        if escaped is None:
            if not isinstance(payload, bytes | bytearray):
                raise SealingError("payload must be bytes (the UTF-8 JSON text of the credential)")
            try:
                escaped = encode_basestring(bytes(payload).decode("utf-8"))[1:-1].encode("utf-8")
            except UnicodeDecodeError:
                raise SealingError("payload is not valid UTF-8 text; JAdES with b64=false needs text") from None
        if self._content_timestamp:
            assert self.tsa_url is not None
            ado = compact_json({"adoTst": tst_tokens(timestamp(self.tsa_url, bytes(payload)))})
            protected = b64url_encode(
                self._head + _sigt(_second(signing_time)) + b'",' + ado[1:-1] + b',"crit":["b64","sigT","adoTst"]}'
            ).encode("ascii")
        else:
            protected = self._protected(signing_time)
        signature = b64url_encode(self.key.sign(protected + b"." + payload, self.alg)).encode("ascii")
        parts = [b'{"payload":"', escaped, b'","signatures":[{"protected":"', protected]
        token = None
        entry = ""
        if self.level != "B-B":
            assert self.tsa_url is not None
            token = timestamp(self.tsa_url, signature)
            entry = b64url_encode(compact_json({"sigTst": tst_tokens(token)}))
            parts += [b'","header":{"etsiU":["', entry.encode("ascii"), b'"]}']
        else:
            parts.append(b'"')
        parts += [b',"signature":"', signature, b'"}]}']
        return parts, protected, token, signature, entry

    def layout(self, escaped: bytes, signing_time: dt.datetime | None = None) -> bytes:
        """What every seal of a payload like ``escaped`` shares, in the order ``seal`` writes it: the
        JWS JSON up to (not including) the signature value, with the protected header of
        ``signing_time`` (default: this second's).

        Sealed files of one template differ from it only by a few per-learner values and the
        signature, which is what makes it a good compression dictionary for storing them; a fixed
        ``signing_time`` makes the layout the same whenever it is computed.
        """
        second = _second(signing_time)
        protected = b64url_encode(self._head + _sigt(second) + b'",' + self._crit).encode("ascii")
        return b"".join([b'{"payload":"', escaped, b'","signatures":[{"protected":"', protected,
                         b'","signature":"'])

    def _protected(self, signing_time: dt.datetime | None) -> bytes:
        """The base64url protected header, recomputed only when the second of ``sigT`` changes."""
        second = _second(signing_time)
        cached = self._cached
        if cached[0] == second:
            return cached[1]
        protected = b64url_encode(self._head + _sigt(second) + b'",' + self._crit).encode("ascii")
        self._cached = (second, protected)
        return protected


def _second(moment: dt.datetime | None) -> int:
    """Whole UTC seconds since the epoch (sigT's resolution) of ``moment``, or of now."""
    if moment is None:
        return int(time.time())
    if moment.tzinfo is None:
        raise SealingError("signing_time must be timezone-aware")
    return calendar.timegm(moment.utctimetuple())


def _sigt(second: int) -> bytes:
    return time.strftime(SIGT_FORMAT, time.gmtime(second)).encode("ascii")
