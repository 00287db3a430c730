"""``manage.py lms edc_bridge_drain``: send due outbox rows (run from cron every few minutes)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from edx_xblock.config import ConfigError
from edx_xblock.plugin.outbox import drain, retry_failed


class Command(BaseCommand):
    help = "Send pending EDC completions to the sidecar (retries those that failed earlier when asked)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--retry-failed", action="store_true",
                            help="queue again the completions the sidecar refused (e.g. after adding a template)")
        parser.add_argument("--limit", type=int, default=1000, help="most rows sent in this run")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["retry_failed"]:
            self.stdout.write(f"re-queued {retry_failed()} failed completion(s)")
        try:
            report = drain(limit=options["limit"])
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(report))
