"""``xmodule.modulestore.django``: ``modulestore()``, ``SignalHandler`` and the module-level
``COURSE_PUBLISHED`` alias platform plugins register for (e.g. platform-plugin-aspects)."""
from __future__ import annotations

from django.dispatch import Signal

from xmodule.modulestore import TwoBranchStore


class SignalHandler:
    course_published = Signal()
    course_deleted = Signal()


COURSE_PUBLISHED = SignalHandler.course_published
STORE = TwoBranchStore()


def modulestore() -> TwoBranchStore:
    return STORE
