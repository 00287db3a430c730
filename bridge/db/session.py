"""Engines and sessions: one engine per database URL and process, SQLite tuned for concurrent use."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

_lock = threading.Lock()
_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """WAL + busy timeout: the web process and in-process tasks write concurrently.

    ``synchronous=NORMAL`` is WAL's recommended setting: the database cannot be corrupted, and at
    worst the last transactions before a power cut are lost, which the LMS adapters re-send
    (intake is idempotent). It avoids an fsync per commit, the embedded mode's main cost.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _create_private(path: Path) -> None:
    """Create the SQLite file readable by its owner only, before SQLite opens it.

    It holds the sources' signing keys and the console's accounts; SQLite would create it with the
    process umask (often 0644), and its ``-wal``/``-shm`` files copy the database file's mode.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite files get their folder created and the pragmas above."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine(url: str) -> Engine:
    """Process-wide engine for ``url`` (engines are pools; one per URL is what SQLAlchemy expects)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def session_factory(url: str) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, so handlers can answer from them."""
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


def dispose_engine(url: str) -> None:
    """Close the pool of ``url`` (tests dropping their database, forked workers)."""
    with _lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()
