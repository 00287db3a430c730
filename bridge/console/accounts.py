"""Local accounts: argon2id password hashes, lockout after repeated failures, optional TOTP
(each code accepted once: the account keeps the time-step of the last one).

Small set-ups without an identity provider sign in here. Passwords are hashed with argon2id
(argon2-cffi's defaults, RFC 9106's second recommended profile) and re-hashed when those defaults
change. ``lockout_attempts`` failures in a row lock the account for ``lockout_seconds``, whatever
the password given meanwhile; an unknown user name costs the same hashing time as a known one, so
timing does not tell which names exist.
"""
from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bridge.console.roles import Grant, Identity
from bridge.db.models import StaffRole, StaffUser, utcnow

HASHER = PasswordHasher()
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 12
TOTP_ISSUER = "EDC Bridge"


class SignInRefused(Exception):
    """Sign-in failed; ``reason`` is for the audit log, never shown to the person as is."""

    def __init__(self, reason: str, user: StaffUser | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user = user


@dataclass(frozen=True)
class LockoutPolicy:
    attempts: int = 5
    seconds: int = 900


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return HASHER.hash(password)


def generate_password() -> str:
    """A first password for a new account (shown once): 20 URL-safe characters."""
    return secrets.token_urlsafe(15)


def find_user(session: Session, username: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(func.lower(StaffUser.username) == username.strip().lower()))


def check_password(session: Session, username: str, password: str, totp_code: str | None,
                   policy: LockoutPolicy, now: dt.datetime | None = None) -> StaffUser:
    """The user if the password (and TOTP code, when enabled) is right; else SignInRefused.

    Commits the failure counter or its reset, so a lockout holds across processes.
    """
    now = now or utcnow()
    user = find_user(session, username) if username.strip() else None
    if user is None or user.password_hash is None:
        _verify(_DUMMY_HASH, password)
        raise SignInRefused("unknown user or no local password", user)
    if user.disabled:
        raise SignInRefused("account disabled", user)
    if user.locked_until is not None and user.locked_until > now:
        raise SignInRefused("account locked", user)
    ok = _verify(user.password_hash, password)
    if ok and user.totp_secret:
        step = totp_step(user.totp_secret, totp_code or "", now)
        if step is None:
            _fail(session, user, policy, now)
            raise SignInRefused("wrong or missing TOTP code", user)
        if not claim_totp_step(session, user, step):
            _fail(session, user, policy, now)
            raise SignInRefused("TOTP code already used", user)
    if not ok:
        _fail(session, user, policy, now)
        raise SignInRefused("wrong password", user)
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.commit()
    return user


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _fail(session: Session, user: StaffUser, policy: LockoutPolicy, now: dt.datetime) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= policy.attempts:
        user.locked_until = now + dt.timedelta(seconds=policy.seconds)
        user.failed_logins = 0
    session.commit()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads (typed in or scanned)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def totp_step(secret: str, code: str, now: dt.datetime | None = None) -> int | None:
    """The time-step (RFC 6238 T) whose code ``code`` is — now's, or the one before or after (clock
    drift) — or None when it is none of them."""
    totp = pyotp.TOTP(secret)
    code = code.strip()
    current = totp.timecode(now or utcnow())
    for step in (current - 1, current, current + 1):
        if code and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def claim_totp_step(session: Session, user: StaffUser, step: int) -> bool:
    """Record ``step`` as the user's last accepted TOTP step, unless it or a later one was accepted
    already (RFC 6238 5.2: a code is accepted once). One conditional UPDATE, so of two sign-ins racing
    with the same code only one wins. Commits."""
    claimed = session.execute(
        update(StaffUser).where(StaffUser.id == user.id,
                                or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount == 1
    session.commit()
    return claimed


def identity_of(user: StaffUser) -> Identity:
    return Identity.build(user.id, user.username, user.display_name,
                          [Grant(r.role, r.source, r.course_id) for r in user.roles])


def set_roles(user: StaffUser, grants: list[Grant]) -> None:
    """Replace the user's roles (duplicates dropped, course team grants need a course)."""
    seen: set[Grant] = set()
    user.roles.clear()
    for grant in grants:
        if grant in seen:
            continue
        seen.add(grant)
        user.roles.append(StaffRole(role=grant.role, source=grant.source, course_id=grant.course_id))


def create_user(session: Session, username: str, display_name: str, *, email: str | None = None,
                password: str | None = None, grants: list[Grant] | None = None) -> StaffUser:
    """A new account (not committed). Without a password it can only sign in through OIDC."""
    username = username.strip()
    if not username or len(username) > 120:
        raise ValueError("a user name has 1 to 120 characters")
    if find_user(session, username) is not None:
        raise ValueError(f"user '{username}' exists already")
    user = StaffUser(username=username, display_name=display_name.strip() or username,
                     email=(email or "").strip().lower() or None,
                     password_hash=hash_password(password) if password else None, failed_logins=0,
                     disabled=False, created_at=utcnow())
    session.add(user)
    set_roles(user, grants or [])
    return user
