"""``get_user_preference(user, key)``: the account's preferences (``pref-lang`` is the language)."""
from __future__ import annotations

from typing import Any

PREFERENCES: dict[tuple[int, str], str] = {}


def get_user_preference(requesting_user: Any, preference_key: str, username: str | None = None) -> str | None:
    return PREFERENCES.get((requesting_user.id, preference_key))
