"""The completion's learner block, from an event's UserData or from the LMS user table.

Open edX keeps one free-text full name (the profile name); ELM wants given and family names. The
Django first/last names win when both are filled; otherwise the full name is split at its last
space, and a one-word name is used as both parts rather than inventing one.
"""
from __future__ import annotations

from typing import Any


def split_name(full_name: str) -> tuple[str, str]:
    name = " ".join(full_name.split())
    given, _, family = name.rpartition(" ")
    return (given, family) if given else (family, family)


def learner_from_parts(user_id: Any, email: str, full_name: str, first: str = "", last: str = "",
                       username: str = "", language: str = "en") -> dict[str, Any]:
    if first.strip() and last.strip():
        given, family = first.strip(), last.strip()
    else:
        given, family = split_name(full_name or username)
    return {"id": str(user_id), "given_name": given, "family_name": family, "email": email or "",
            "language": language}


def learner_from_event(user: Any, language: str) -> dict[str, Any]:
    """From openedx-events ``UserData`` (id + pii: edx-platform sends ``get_full_name() or profile.name``),
    completed by the Django user's first/last names when it exists."""
    pii = user.pii
    db_user = _db_user(user.id)
    return learner_from_parts(user.id, pii.email, pii.name or _profile_name(db_user),
                              getattr(db_user, "first_name", ""), getattr(db_user, "last_name", ""),
                              pii.username, language)


def _db_user(user_id: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=user_id).first()


def _profile_name(db_user: Any) -> str:
    """edx-platform's UserProfile.name when present (the name learners type at registration)."""
    if db_user is None:
        return ""
    profile = getattr(db_user, "profile", None)
    return getattr(profile, "name", "") or db_user.get_full_name()
