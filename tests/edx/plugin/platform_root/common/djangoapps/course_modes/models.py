"""``CourseMode.is_eligible_for_certificate``: every mode but audit (and honor when honor certificates
are disabled, ``FEATURES['DISABLE_HONOR_CERTIFICATES']``)."""
from __future__ import annotations

from django.conf import settings


class CourseMode:
    AUDIT, HONOR = "audit", "honor"

    @classmethod
    def is_eligible_for_certificate(cls, mode_slug: str, status: str | None = None) -> bool:
        ineligible = [cls.AUDIT]
        if getattr(settings, "FEATURES", {}).get("DISABLE_HONOR_CERTIFICATES") and mode_slug == cls.HONOR \
                and status != "downloadable":
            ineligible.append(cls.HONOR)
        return mode_slug not in ineligible
