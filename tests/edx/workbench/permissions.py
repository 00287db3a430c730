"""Stand-in for Studio's ``studio_user_permissions`` service (Studio itself cannot run here): a user
who may read the course but not edit it, loaded through the workbench's WORKBENCH['services']."""
from __future__ import annotations

from typing import Any


class ReadOnlyPermissions:
    def can_read(self, course_key: Any) -> bool:
        return True

    def can_write(self, course_key: Any) -> bool:
        return False
