"""The learner's credential state as shown by the block.

Two sources, kept apart so the mapping stays explicit and testable without a runtime: the LMS
outbox row (local, read when the page renders) and the sidecar's status document (fetched by the
page afterwards, cached). Eight sidecar statuses and six outbox states map onto what a learner can act on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NOT_EARNED, ISSUING, ISSUED, DELIVERY_FAILED, ISSUE_FAILED, REVOKED, UNKNOWN = (
    "not_earned", "issuing", "issued", "delivery_failed", "issue_failed", "revoked", "unknown")
REFUSED, INELIGIBLE, CHECKING = "refused", "ineligible", "checking"

_ISSUING = ("received", "assembled")
_ISSUED = ("sealed", "delivered", "partially_delivered")


@dataclass(frozen=True)
class LearnerStatus:
    """What the student view shows: a state, the credential id, and the links it may offer.

    ``reason`` is for course staff only (why the credential service refused a completion).
    """

    state: str
    credential_id: str | None = None
    wallet_url: str | None = None
    failed_channels: tuple[str, ...] = ()
    reason: str | None = None

    def to_dict(self, staff: bool = False) -> dict[str, Any]:
        data = {"state": self.state, "credential_id": self.credential_id, "wallet_url": self.wallet_url,
                "failed_channels": list(self.failed_channels)}
        if staff and self.reason:
            data["reason"] = self.reason
        return data


def from_outbox(status: str | None, last_error: str = "") -> LearnerStatus | None:
    """The state the LMS outbox alone decides; None when the sidecar must be asked (sent, or no row)."""
    if status in ("pending", "sending"):
        return LearnerStatus(ISSUING)
    if status == "withdrawn":
        return LearnerStatus(NOT_EARNED)
    if status == "ineligible":
        return LearnerStatus(INELIGIBLE, reason=last_error or None)
    if status == "failed":
        return LearnerStatus(REFUSED, reason=last_error or None)
    return None


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
        return LearnerStatus(ISSUE_FAILED, cred_id, reason=cred.get("reason") or cred.get("error") or None)
    if status == "revoked":
        return LearnerStatus(REVOKED, cred_id)
    if status == "skipped":  # the course's issuing policy said no (e.g. a minimum grade)
        return LearnerStatus(REFUSED, cred_id, reason=cred.get("reason") or None)
    return LearnerStatus(NOT_EARNED, cred_id)


def from_dict(data: dict[str, Any]) -> LearnerStatus:
    """Back from the cached form."""
    return LearnerStatus(str(data.get("state")), data.get("credential_id"), data.get("wallet_url"),
                         tuple(data.get("failed_channels") or ()), data.get("reason"))
