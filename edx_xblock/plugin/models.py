"""The plugin's tables, shared by the LMS and Studio (they use the same database in Open edX).

``OutboxCompletion``: one row per (course run, learner) waiting to be handed to the sidecar. Being
one row per pair is the dedupe; its status only moves forward through conditional updates, so a
send that loses a race with a withdrawal can never bring the row back. Personal data is cleared
from the row once the sidecar has it.

``CourseCredential``: what Studio last published for a course (the template it pushed, the version
the sidecar gave it, or why it was refused). The LMS reads it to know whether a course issues
credentials at all, and the blocks render from it without asking the sidecar.
"""
from __future__ import annotations

from django.db import models


class OutboxCompletion(models.Model):
    """A learner who passed, on the way to the sidecar."""

    PENDING, SENDING, SENT = "pending", "sending", "sent"
    WITHDRAWN, INELIGIBLE, FAILED = "withdrawn", "ineligible", "failed"
    STATUSES = [(s, s) for s in (PENDING, SENDING, SENT, WITHDRAWN, INELIGIBLE, FAILED)]
    OPEN = (PENDING, SENDING)

    course_id = models.CharField(max_length=255, help_text="course run the learner took (a CCX key for CCX)")
    user_id = models.CharField(max_length=64)
    template_course_id = models.CharField(max_length=255, default="",
                                          help_text="course id in the sidecar (the master course of a CCX)")
    payload = models.JSONField(default=dict, help_text="learner, grade, passed, completed_at (cleared once sent)")
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claim = models.CharField(max_length=32, blank=True, default="",
                             help_text="token of the task sending the row (status sending)")
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


class CourseCredential(models.Model):
    """The credential template Studio published for a course, and what the sidecar made of it."""

    PUSHING, PUSHED, REFUSED, UNREACHABLE, REMOVED = "pushing", "pushed", "refused", "unreachable", "removed"
    STATUSES = [(s, s) for s in (PUSHING, PUSHED, REFUSED, UNREACHABLE, REMOVED)]

    course_id = models.CharField(max_length=255, unique=True, help_text="course key (never a CCX key)")
    usage_ids = models.JSONField(default=list, help_text="published credential blocks of the course")
    template_hash = models.CharField(max_length=64, blank=True, default="",
                                     help_text="SHA-256 of the template last pushed (or being pushed)")
    version = models.PositiveIntegerField(null=True, blank=True, help_text="version the sidecar gave it")
    status = models.CharField(max_length=16, choices=STATUSES, default=PUSHING)
    errors = models.JSONField(default=list, help_text='[{"field", "message"}] of a refusal')
    attempts = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "edc_bridge"

    def __str__(self) -> str:
        return f"{self.course_id}: {self.status} (v{self.version})"

    @property
    def issues(self) -> bool:
        """Whether completions of this course are sent (a template the sidecar holds)."""
        return self.status == self.PUSHED or (self.status in (self.PUSHING, self.UNREACHABLE)
                                              and self.version is not None)
