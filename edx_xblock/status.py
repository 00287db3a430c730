"""The learner's credential state as shown by the block, derived from the sidecar's status document.

Kept apart from the block so the mapping (eight sidecar statuses onto five things a learner can
act on) is explicit and testable without a runtime.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NOT_EARNED, ISSUING, ISSUED, DELIVERY_FAILED, ISSUE_FAILED, REVOKED, UNKNOWN = (
    "not_earned", "issuing", "issued", "delivery_failed", "issue_failed", "revoked", "unknown")

_ISSUING = ("received", "assembled")
_ISSUED = ("sealed", "delivered", "partially_delivered")


@dataclass(frozen=True)
class LearnerStatus:
    """What the student view shows: a state, the credential id, and the links it may offer."""

    state: str
    credential_id: str | None = None
    wallet_url: str | None = None
    failed_channels: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "credential_id": self.credential_id, "wallet_url": self.wallet_url,
                "failed_channels": list(self.failed_channels)}


def _viewer_url(deliveries: list[dict[str, Any]]) -> str | None:
    for delivery in deliveries:
        result = delivery.get("result")
        if delivery.get("channel") == "wallet" and isinstance(result, dict):
            url = result.get("viewer_url") or result.get("viewerURL")
            if isinstance(url, str) and url.startswith("https://"):
                return url
    return None


def learner_status(items: list[dict[str, Any]], queued: bool = False) -> LearnerStatus:
    """Newest credential first (as the sidecar lists them); ``queued``: the LMS outbox still holds it."""
    if not items:
        return LearnerStatus(ISSUING if queued else NOT_EARNED)
    cred = items[0]
    status, cred_id = cred.get("status"), cred.get("id")
    deliveries = [d for d in cred.get("deliveries") or [] if isinstance(d, dict)]
    failed = tuple(sorted({str(d.get("channel")) for d in deliveries if d.get("status") == "failed"}))
    if status in _ISSUING:
        return LearnerStatus(ISSUING, cred_id)
    if status in _ISSUED:
        return LearnerStatus(ISSUED, cred_id, _viewer_url(deliveries), failed)
    if status == "failed":
        if cred.get("sealed_url"):
            return LearnerStatus(DELIVERY_FAILED, cred_id, None, failed)
        return LearnerStatus(ISSUE_FAILED, cred_id)
    if status == "revoked":
        return LearnerStatus(REVOKED, cred_id)
    return LearnerStatus(NOT_EARNED, cred_id)
