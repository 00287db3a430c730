"""Server-side console sessions in the database.

The cookie carries only a random 256-bit token; the table keeps its SHA-256 and the session data
(signed-in user, CSRF token, the OIDC state/nonce/PKCE verifier while a sign-in is under way). So a
session can be ended from the server (sign-out, account disabled, roles changed) and nothing a
browser holds can be replayed once it is gone. Sessions expire after ``idle`` seconds without a
request and ``lifetime`` seconds after sign-in, whichever comes first.

Only console paths (``/console``) use sessions: the cookie's path is ``/console``, and requests
elsewhere (the machine API, the public pages) never read or write the table.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import CallbackDict

from bridge.db.models import StaffSession, utcnow

COOKIE_PATH = "/console"
TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen_at is written at most once a minute per session


class ConsoleSession(CallbackDict[str, Any], SessionMixin):
    """Session data plus what the interface needs to know to save it."""

    def __init__(self, initial: dict[str, Any] | None = None, token: str | None = None,
                 row: StaffSession | None = None) -> None:
        def on_update(this: ConsoleSession) -> None:
            this.modified = True

        super().__init__(initial or {}, on_update)
        self.token = token
        self.row_seen: dt.datetime | None = row.last_seen_at if row else None
        self.row_created: dt.datetime | None = row.created_at if row else None
        self.modified = False
        self.rotate = False  # set at sign-in: a new token, so a pre-sign-in token is worthless

    def regenerate(self) -> None:
        """Issue a new token for this session's data (at sign-in, against session fixation)."""
        self.rotate = True
        self.modified = True


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class DatabaseSessionInterface(SessionInterface):
    """Flask's session, kept in ``staff_sessions``."""

    def __init__(self, sessions: sessionmaker[Session], *, cookie_name: str, secure: bool, idle: int,
                 lifetime: int) -> None:
        self._sessions = sessions
        self.cookie_name = cookie_name
        self.secure = secure
        self.idle = dt.timedelta(seconds=idle)
        self.lifetime = dt.timedelta(seconds=lifetime)

    def _console(self, request: Request) -> bool:
        return request.path == COOKIE_PATH or request.path.startswith(COOKIE_PATH + "/")

    def open_session(self, app: Flask, request: Request) -> ConsoleSession:
        token = request.cookies.get(self.cookie_name) if self._console(request) else None
        if not token or len(token) > 100:
            return ConsoleSession()
        now = utcnow()
        with self._sessions() as db:
            row = db.get(StaffSession, _digest(token))
            if row is None or row.expires_at <= now or row.last_seen_at + self.idle <= now:
                return ConsoleSession()
            return ConsoleSession(dict(row.data), token=token, row=row)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, ConsoleSession) or not self._console(_request()):
            return
        now = utcnow()
        if session.token is not None and not session and session.modified:  # cleared: sign-out
            self.end(session.token)
            response.delete_cookie(self.cookie_name, path=COOKIE_PATH)
            return
        if not session.modified and (session.token is None or
                                     (session.row_seen and now - session.row_seen < TOUCH_EVERY)):
            return
        request = _request()
        with self._sessions() as db:
            if session.token is None or session.rotate:
                if session.token is not None:
                    db.execute(delete(StaffSession).where(StaffSession.id == _digest(session.token)))
                session.token = secrets.token_urlsafe(32)
                db.add(StaffSession(id=_digest(session.token), user_id=session.get("user_id"), data=dict(session),
                                    created_at=now, last_seen_at=now, expires_at=now + self.lifetime,
                                    ip=(request.remote_addr or "")[:64], user_agent=_agent(request)))
                session.rotate = False
            else:
                row = db.get(StaffSession, _digest(session.token))
                if row is None:
                    return
                row.last_seen_at = now
                if session.modified:
                    row.data, row.user_id = dict(session), session.get("user_id")
            db.commit()
        response.set_cookie(self.cookie_name, session.token, path=COOKIE_PATH, secure=self.secure, httponly=True,
                            samesite="Lax")
        response.vary.add("Cookie")

    def end(self, token: str) -> None:
        with self._sessions() as db:
            db.execute(delete(StaffSession).where(StaffSession.id == _digest(token)))
            db.commit()


def end_user_sessions(db: Session, user_id: int) -> int:
    """Sign a person out everywhere (account disabled, roles or password changed by an admin)."""
    return db.execute(delete(StaffSession).where(StaffSession.user_id == user_id)).rowcount or 0


def _request() -> Request:
    from flask import request

    return request  # type: ignore[return-value]


def _agent(request: Request) -> str | None:
    agent = request.headers.get("User-Agent")
    return agent[:200] if agent else None
