"""The outbox: one row per (course, learner) waiting to be handed to the sidecar.

Being one row per pair is the dedupe: repeated grade/passing/certificate events update the row
instead of queueing more work. Personal data is cleared from the row once the sidecar has it.
"""
from __future__ import annotations

from django.db import models


class OutboxCompletion(models.Model):
    PENDING, SENT, FAILED = "pending", "sent", "failed"
    STATUSES = [(PENDING, "pending"), (SENT, "sent"), (FAILED, "failed")]

    course_id = models.CharField(max_length=255)
    user_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, help_text="learner, grade, passed, completed_at (cleared once sent)")
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    credential_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "edc_bridge"
        constraints = [models.UniqueConstraint(fields=["course_id", "user_id"], name="edc_outbox_course_user")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="edc_outbox_due")]

    def __str__(self) -> str:
        return f"{self.course_id} / user {self.user_id}: {self.status}"
