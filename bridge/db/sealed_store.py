"""Sealed files at rest: zstd frames compressed against a per-template dictionary.

A sealed credential is ~25 KB of JWS JSON, and all but ~1 KB of it (node ids, names, dates, the
signature) is the same for every credential of one course template. Compressed against a
dictionary holding that shared text, it takes ~1.1 KB (plain zstd: ~7 KB; PostgreSQL's LZ4: ~9 KB).
That is the difference between a row that fits in its heap page and one whose text PostgreSQL must
compress and spread over TOAST chunks on every seal: on the machine the benchmark runs on the
sealing write went from ~70 µs to ~25 µs of server CPU, and the table is twenty times smaller.

Dictionaries are built from the template's *probe* credential (sentinel learner values, no personal
data) in the sealed layout, stored once in ``sealed_dictionaries`` under the SHA-256 of their
content, and never changed nor deleted: every stored frame stays readable by any process, whatever
templates, keys or code versions come later. Frames carry zstd's content checksum, so a damaged row
is reported as such instead of being served.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import zstandard
from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.db.bulk import insert_ignoring_conflicts
from bridge.db.models import Credential, SealedDictionary, utcnow

__all__ = ["SealedStore", "Dictionary", "CorruptSealedFile", "dictionary_id", "STORE"]

MAX_DICTIONARIES = 64  # per process; one per template version in use, ~0.2 MB each with its tables
LEVEL = 1  # against the dictionary: ~1.3 KB in ~10 µs per credential; level 3 gives the same size in twice the time


class CorruptSealedFile(RuntimeError):
    """A stored frame does not decompress to what was written (checksum or dictionary mismatch)."""


def dictionary_id(content: bytes) -> str:
    """The dictionary's name: the SHA-256 of its content, so equal dictionaries are one row."""
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class Dictionary:
    """A prepared dictionary: its name, its content and zstd's ready-to-use form of it."""

    id: str
    content: bytes
    zstd: zstandard.ZstdCompressionDict


class SealedStore:
    """Packs sealed files for the ``credentials.sealed_zstd`` column and unpacks them.

    One instance per process (:data:`STORE`). zstd (de)compressor objects are not safe for
    concurrent use, so each thread gets its own; the dictionaries themselves are shared. Both are
    bounded (a long-lived worker sees every template version ever edited): the least recently used
    dictionaries are dropped and loaded again from the database when needed.
    """

    def __init__(self, level: int = LEVEL, max_dictionaries: int = MAX_DICTIONARIES) -> None:
        self._level = level
        self._max = max_dictionaries
        self._lock = threading.Lock()
        self._dicts: OrderedDict[str, zstandard.ZstdCompressionDict] = OrderedDict()
        self._local = threading.local()

    # --- writing -------------------------------------------------------------------------------
    def prepare(self, content: bytes) -> Dictionary:
        """A dictionary for :meth:`pack` and :meth:`save_dictionaries` (not yet in the database).

        The caller keeps the returned object for as long as it packs with it, so the bounded cache
        may drop it meanwhile without harm.
        """
        ident = dictionary_id(content)
        with self._lock:
            found = self._dicts.get(ident)
        if found is None:
            found = _dictionary(content)
            # Without this, every compress() rebuilds the dictionary's tables: 3x the cost per frame.
            found.precompute_compress(level=self._level)
        self._keep(ident, found)
        return Dictionary(ident, content, found)

    def pack(self, sealed: bytes, dictionary: Dictionary | None) -> bytes:
        """The zstd frame of ``sealed`` against a prepared dictionary (or none)."""
        compressors: dict[str | None, zstandard.ZstdCompressor] = self._thread_cache("compressors")
        key = None if dictionary is None else dictionary.id
        compressor = compressors.get(key)
        if compressor is None:
            options: dict[str, Any] = {"level": self._level, "write_checksum": True, "write_content_size": True}
            if dictionary is not None:
                options["dict_data"] = dictionary.zstd
            compressor = compressors[key] = zstandard.ZstdCompressor(**options)
        return compressor.compress(sealed)

    def save_dictionaries(self, session: Session, dictionaries: Iterable[Dictionary]) -> None:
        """Insert these dictionaries unless present, in the caller's transaction (before the rows that
        reference them).

        Asked of the database for every chunk rather than remembered per process (no cache that a
        restored or truncated database could contradict): one small query, and the ~25 KB of a
        dictionary are only sent when it is new.
        """
        by_id = {d.id: d for d in dictionaries}
        if not by_id:
            return
        present = set(session.scalars(select(SealedDictionary.id).where(SealedDictionary.id.in_(sorted(by_id)))))
        missing = sorted(set(by_id) - present)
        if missing:
            now = utcnow()
            insert_ignoring_conflicts(session, SealedDictionary, [
                {"id": ident, "content": by_id[ident].content, "created_at": now} for ident in missing], ("id",))

    # --- reading -------------------------------------------------------------------------------
    def unpack(self, session: Session, frame: bytes, dictionary: str | None) -> bytes:
        """The sealed file's bytes, exactly as sealed. Raises CorruptSealedFile when they cannot be."""
        decompressors: dict[str | None, zstandard.ZstdDecompressor] = self._thread_cache("decompressors")
        decompressor = decompressors.get(dictionary)
        if decompressor is None:
            options = {} if dictionary is None else {"dict_data": self._load(session, dictionary)}
            decompressor = decompressors[dictionary] = zstandard.ZstdDecompressor(**options)
        try:
            return decompressor.decompress(frame)
        except zstandard.ZstdError as exc:
            raise CorruptSealedFile(f"the stored sealed file cannot be read back: {exc}") from None

    def read(self, session: Session, credential: Credential) -> bytes | None:
        """The sealed file of a credential row, or None when it is not sealed."""
        if credential.sealed_zstd is None:
            return None
        return self.unpack(session, credential.sealed_zstd, credential.sealed_dictionary_id)

    def _load(self, session: Session, ident: str) -> zstandard.ZstdCompressionDict:
        with self._lock:
            found = self._dicts.get(ident)
        if found is not None:
            return found
        content = session.scalar(select(SealedDictionary.content).where(SealedDictionary.id == ident))
        if content is None or dictionary_id(bytes(content)) != ident:
            raise CorruptSealedFile(f"compression dictionary {ident} is missing or damaged")
        found = _dictionary(bytes(content))
        self._keep(ident, found)
        return found

    def _keep(self, ident: str, found: zstandard.ZstdCompressionDict) -> None:
        with self._lock:
            self._dicts.setdefault(ident, found)
            self._dicts.move_to_end(ident)
            while len(self._dicts) > self._max:
                self._dicts.popitem(last=False)

    def _thread_cache(self, name: str) -> dict[Any, Any]:
        cache = getattr(self._local, name, None)
        if cache is None or len(cache) > self._max:  # (de)compressors hold their dictionary: start afresh
            cache = {}
            setattr(self._local, name, cache)
        return cache


def _dictionary(content: bytes) -> zstandard.ZstdCompressionDict:
    # Raw content, not a trained dictionary: the shared text *is* the template, byte for byte.
    return zstandard.ZstdCompressionDict(content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


STORE = SealedStore()
"""The process's store: dictionaries are loaded once per process, whichever app or task reads."""
