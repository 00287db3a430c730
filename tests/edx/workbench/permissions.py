"""Stand-ins for the services edx-platform gives a block (Studio and the LMS cannot run here), loaded
through the workbench's WORKBENCH['services'], shaped after edx-platform's own:

- ``studio_user_permissions``: ``StudioPermissionsService`` (openedx/core/djangoapps/content/services.py),
  whose ``can_edit_content`` replaces the deprecated ``can_write``;
- ``user`` in the LMS: ``DjangoXBlockUserService`` with ``edx-platform.*`` attributes, and no
  ``studio_user_permissions`` service at all.
"""
from __future__ import annotations

import warnings
from typing import Any

from xblock.reference.user_service import UserService, XBlockUser


class ReadOnlyPermissions:
    """A Studio user who may read the course but not edit it."""

    def can_read_content(self, course_key: Any) -> bool:
        return True

    def can_edit_content(self, course_key: Any) -> bool:
        return False

    def can_write(self, course_key: Any) -> bool:
        warnings.warn("can_write is deprecated", DeprecationWarning, stacklevel=2)
        return True  # a caller still using the deprecated check would let this user in


class OlderStudioPermissions:
    """Studio before can_edit_content: only can_read/can_write, granting write."""

    def can_read(self, course_key: Any) -> bool:
        return True

    def can_write(self, course_key: Any) -> bool:
        return True


class LmsCourseStaffUser(UserService):
    """The LMS's user service for a member of the course team (course staff, not global staff)."""

    def __init__(self) -> None:
        user = XBlockUser(is_current_user=True, emails=["staff@example.org"], full_name="Course Staff")
        user.opt_attrs.update({"edx-platform.user_id": 5, "edx-platform.username": "staff",
                               "edx-platform.user_is_staff": True, "edx-platform.user_is_global_staff": False,
                               "edx-platform.user_role": "staff"})
        super().__init__(user=user)

    def get_current_user(self) -> XBlockUser:
        return self._user
