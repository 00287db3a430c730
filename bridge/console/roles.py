"""Roles and what each may do in the console (and its JSON API).

A permission is a plain string (``"credentials.act"``). Each role grants a set of them; the
course team role grants its permissions only for the courses named in its grants. A person's
:class:`Identity` therefore knows, per permission, either "everything" (``None``) or the set of
(source, course id) pairs it covers. New console sections (e.g. the recognition desk) declare the
permission they need here and check it with :meth:`Identity.can`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, false, or_

from bridge.db.models import STAFF_ROLES

Course = tuple[str, str]

# Permissions: "<area>.<verb>".
DASHBOARD = "dashboard.read"
CREDENTIALS_READ = "credentials.read"
CREDENTIALS_ACT = "credentials.act"        # resend, re-issue, retry failed
CREDENTIALS_REVOKE = "credentials.revoke"
TEMPLATES_READ = "templates.read"
TEMPLATES_EDIT = "templates.edit"
BATCHES_READ = "batches.read"
EXPORTS = "exports.read"
SOURCES_READ = "sources.read"
SOURCES_MANAGE = "sources.manage"          # HMAC key rotation
USERS_MANAGE = "users.manage"
AUDIT_READ = "audit.read"
SETTINGS_READ = "settings.read"            # keys status, health of TSA / wallet / SMTP
RECOGNITION_READ = "recognition.read"      # the MCRA register and the recognition desk, read only
RECOGNITION_DECIDE = "recognition.decide"  # edit agreements and partners, take recognition decisions

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({DASHBOARD, CREDENTIALS_READ, CREDENTIALS_ACT, CREDENTIALS_REVOKE, TEMPLATES_READ,
                        TEMPLATES_EDIT, BATCHES_READ, EXPORTS, SOURCES_READ, SOURCES_MANAGE, USERS_MANAGE,
                        AUDIT_READ, SETTINGS_READ, RECOGNITION_READ, RECOGNITION_DECIDE}),
    "registrar": frozenset({DASHBOARD, CREDENTIALS_READ, CREDENTIALS_ACT, CREDENTIALS_REVOKE, TEMPLATES_READ,
                            TEMPLATES_EDIT, BATCHES_READ, EXPORTS, SOURCES_READ, AUDIT_READ, SETTINGS_READ,
                            RECOGNITION_READ}),
    # Scoped to the courses of its grants: their templates and credentials, nothing else.
    "course_team": frozenset({DASHBOARD, CREDENTIALS_READ, CREDENTIALS_ACT, TEMPLATES_READ, TEMPLATES_EDIT,
                              EXPORTS}),
    "recognition_officer": frozenset({DASHBOARD, RECOGNITION_READ, RECOGNITION_DECIDE}),
    "viewer": frozenset({DASHBOARD, CREDENTIALS_READ, TEMPLATES_READ, BATCHES_READ, SOURCES_READ,
                         RECOGNITION_READ}),
}
SCOPED_ROLES = frozenset({"course_team"})
assert set(ROLE_PERMISSIONS) == set(STAFF_ROLES)  # noqa: S101 - the tables must list the same roles


@dataclass(frozen=True)
class Grant:
    """One role, with its course for a course team."""

    role: str
    source: str | None = None
    course_id: str | None = None

    @property
    def course(self) -> Course | None:
        return (self.source, self.course_id) if self.source and self.course_id else None


@dataclass(frozen=True)
class Identity:
    """The signed-in person (or the admin token) and what they may do."""

    user_id: int | None
    username: str
    display_name: str
    grants: tuple[Grant, ...]
    kind: str = "staff"  # "staff" | "token" (the admin bearer token on the console API)
    scopes: dict[str, frozenset[Course] | None] = field(default_factory=dict, compare=False)

    @classmethod
    def build(cls, user_id: int | None, username: str, display_name: str, grants: Iterable[Grant],
              kind: str = "staff") -> Identity:
        grants = tuple(g for g in grants if g.role in ROLE_PERMISSIONS)
        scopes: dict[str, frozenset[Course] | None] = {}
        for grant in grants:
            for permission in ROLE_PERMISSIONS[grant.role]:
                if grant.role in SCOPED_ROLES:
                    if grant.course is None:
                        continue  # a course team grant without a course grants nothing
                    current = scopes.get(permission, frozenset())
                    if current is not None:
                        scopes[permission] = current | {grant.course}
                else:
                    scopes[permission] = None
        return cls(user_id, username, display_name, grants, kind, scopes)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    def can(self, permission: str, course: Course | None = None) -> bool:
        """Whether this person holds ``permission`` (for ``course``, when given)."""
        if permission not in self.scopes:
            return False
        scope = self.scopes[permission]
        return scope is None or (course is not None and course in scope) or (course is None and bool(scope))

    def courses(self, permission: str) -> frozenset[Course] | None:
        """The courses ``permission`` covers: None for all, else the set (empty: none)."""
        if permission not in self.scopes:
            return frozenset()
        return self.scopes[permission]

    def course_filter(self, permission: str, source_column: Any, course_column: Any) -> Any:
        """A SQL condition limiting rows to the courses ``permission`` covers (None: no limit)."""
        scope = self.courses(permission)
        if scope is None:
            return None
        if not scope:
            return false()
        return or_(*(and_(source_column == s, course_column == c) for s, c in sorted(scope)))
