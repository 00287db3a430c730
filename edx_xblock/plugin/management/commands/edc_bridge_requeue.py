"""``manage.py lms edc_bridge_requeue``: queue the send task again for completions still waiting.

Celery messages are acknowledged late, so a killed worker loses nothing; this command is for the
rest — a broker flushed by hand, or completions the sidecar refused and that should go again after
the course's template was fixed (``--failed``).
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from edx_xblock.plugin.outbox import requeue


class Command(BaseCommand):
    help = "Queue the EDC send task again for waiting completions (and refused ones with --failed)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--failed", action="store_true",
                            help="also queue the completions the sidecar refused (e.g. after fixing a template)")

    def handle(self, *args: Any, **options: Any) -> None:
        from edx_xblock.plugin.tasks import send_completion

        due = requeue(failed=options["failed"])
        for course_id, user_id in due:
            send_completion.delay(course_id, user_id)
        self.stdout.write(f"queued {len(due)} completion(s)")
