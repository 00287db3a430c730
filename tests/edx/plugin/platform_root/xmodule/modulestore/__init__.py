"""``xmodule.modulestore.ModuleStoreEnum`` and a two-branch store (draft and published)."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class ModuleStoreEnum:
    class Branch:
        draft_preferred = "draft-preferred"
        published_only = "published-only"


class TwoBranchStore:
    """Blocks by usage key in a draft and a published branch; publishing copies draft to published."""

    def __init__(self) -> None:
        self.draft: dict[str, Any] = {}
        self.published: dict[str, Any] = {}
        self._branch = ModuleStoreEnum.Branch.draft_preferred

    @contextmanager
    def branch_setting(self, branch: str, course_key: Any = None) -> Iterator[None]:
        previous, self._branch = self._branch, branch
        try:
            yield
        finally:
            self._branch = previous

    def get_items(self, course_key: Any, qualifiers: dict[str, Any] | None = None) -> list[Any]:
        branch = self.published if self._branch == ModuleStoreEnum.Branch.published_only else self.draft
        category = (qualifiers or {}).get("category")
        return [copy.copy(b) for b in branch.values()
                if b.location.course_key == course_key and (category is None or b.location.block_type == category)]
