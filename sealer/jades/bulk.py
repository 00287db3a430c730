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
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from json.encoder import encode_basestring  # type: ignore[attr-defined]

import requests
from cryptography.hazmat.primitives.serialization import Encoding

from sealer import timestamps
from sealer.jades.seal import (
    SIGT_FORMAT,
    SealingError,
    ValidationDataSource,
    archive_input,
    check_level,
    gather,
    key_header,
    long_term_entries,
    timestamp,
    tst_tokens,
)
from sealer.jose import b64url_encode, compact_json
from sealer.keys import KeySource

__all__ = ["TSA_CONCURRENCY", "JadesSealer"]

# Time-stamp requests a sealer keeps in flight at once while sealing a chunk: enough to hide a remote
# TSA's round trips, few enough not to look like a flood to it.
TSA_CONCURRENCY = 8


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
        tsa_concurrency: int = TSA_CONCURRENCY,
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
        if tsa_concurrency < 1:
            raise SealingError("tsa_concurrency must be at least 1")
        self._tsa_concurrency = tsa_concurrency
        self._pool: tuple[int, ThreadPoolExecutor] | None = None
        self._pool_lock = threading.Lock()
        self._sessions = threading.local()

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

        The chunk's time-stamp requests of one kind are sent together, at most ``tsa_concurrency`` at a
        time (a TSA's answer is mostly network wait); each token is still checked against its own seal's
        bytes and nonce. Signing stays sequential: a key source need not be thread-safe. Any failure
        fails the chunk (nothing half-sealed is returned).
        """
        second = _second(signing_time)
        escaped_items = [_escaped(payload, escaped) for payload, escaped in items]
        payloads = [bytes(payload) for payload, _escaped in items]
        if self._content_timestamp:
            protected_all = [b64url_encode(
                self._head + _sigt(second) + b'",' + compact_json({"adoTst": tst_tokens(token)})[1:-1]
                + b',"crit":["b64","sigT","adoTst"]}').encode("ascii") for token in self._stamp_all(payloads)]
        else:
            protected_all = [self._protected(second)] * len(items)
        signatures = [b64url_encode(self.key.sign(protected + b"." + payload, self.alg)).encode("ascii")
                      for protected, payload in zip(protected_all, payloads, strict=True)]
        heads = [[b'{"payload":"', escaped, b'","signatures":[{"protected":"', protected]
                 for escaped, protected in zip(escaped_items, protected_all, strict=True)]
        if self.level == "B-B":
            return [b"".join([*head, b'","signature":"', signature, b'"}]}'])
                    for head, signature in zip(heads, signatures, strict=True)]
        sig_tokens = self._stamp_all(signatures)
        etsi_us = [[b64url_encode(compact_json({"sigTst": tst_tokens(token)}))] for token in sig_tokens]
        if self.level in ("B-LT", "B-LTA"):
            assert self._validation_data is not None
            tsas = {t.signer.public_bytes(Encoding.DER): t for t in sig_tokens}
            shared = long_term_entries(gather(self._validation_data, self.key.chain, list(tsas.values())),
                                       self.key.chain)
            etsi_us = [[*etsi_u, *shared] for etsi_u in etsi_us]
        if self.level == "B-LTA":
            covered = [archive_input(payload, protected, signature, etsi_u) for payload, protected, signature, etsi_u
                       in zip(payloads, protected_all, signatures, etsi_us, strict=True)]
            for etsi_u, token in zip(etsi_us, self._stamp_all(covered), strict=True):
                etsi_u.append(b64url_encode(compact_json({"arcTst": tst_tokens(token)})))
        out = []
        for head, signature, etsi_u in zip(heads, signatures, etsi_us, strict=True):
            entries = b'","'.join(e.encode("ascii") for e in etsi_u)
            out.append(b"".join([*head, b'","header":{"etsiU":["', entries, b'"]}',
                                 b',"signature":"', signature, b'"}]}']))
        return out

    def _stamp_all(self, data: list[bytes]) -> list[timestamps.TimestampToken]:
        """One verified token per item of ``data``, in order; the requests run concurrently (bounded)."""
        assert self.tsa_url is not None
        url = self.tsa_url
        if len(data) == 1 or self._tsa_concurrency == 1:
            return [timestamp(url, item, session=self._session()) for item in data]
        with self._pool_lock:
            if self._pool is None or self._pool[0] != os.getpid():  # threads do not survive a fork
                self._pool = (os.getpid(), ThreadPoolExecutor(max_workers=self._tsa_concurrency,
                                                              thread_name_prefix="edc-tsa"))
            pool = self._pool[1]
        return list(pool.map(lambda item: timestamp(url, item, session=self._session()), data))

    def _session(self) -> requests.Session:
        """This thread's HTTP session to the TSA (its connection is kept alive between requests)."""
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = requests.Session()
        return session

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

    def _protected(self, second: int) -> bytes:
        """The base64url protected header of ``sigT`` ``second``, recomputed only when the second changes."""
        cached = self._cached
        if cached[0] == second:
            return cached[1]
        protected = b64url_encode(self._head + _sigt(second) + b'",' + self._crit).encode("ascii")
        self._cached = (second, protected)
        return protected


def _escaped(payload: bytes, escaped: bytes | None) -> bytes:
    """``payload`` JSON-string-escaped without quotes (``escaped`` when the caller has it already)."""
    if escaped is not None:
        return escaped
    if not isinstance(payload, bytes | bytearray):
        raise SealingError("payload must be bytes (the UTF-8 JSON text of the credential)")
    try:
        return encode_basestring(bytes(payload).decode("utf-8"))[1:-1].encode("utf-8")
    except UnicodeDecodeError:
        raise SealingError("payload is not valid UTF-8 text; JAdES with b64=false needs text") from None


def _second(moment: dt.datetime | None) -> int:
    """Whole UTC seconds since the epoch (sigT's resolution) of ``moment``, or of now."""
    if moment is None:
        return int(time.time())
    if moment.tzinfo is None:
        raise SealingError("signing_time must be timezone-aware")
    return calendar.timegm(moment.utctimetuple())


def _sigt(second: int) -> bytes:
    return time.strftime(SIGT_FORMAT, time.gmtime(second)).encode("ascii")
