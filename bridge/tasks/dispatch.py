"""Where pipeline work runs: Celery workers (production) or a thread of this process (embedded).

Both dispatchers only carry row ids; the rows hold the state, so a dispatcher may lose a message
(crash, broker restart) and the outbox sweep still gets the work done.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

ISSUE_CHUNK = 500  # per-chunk costs (round trips, commit, builder, message) are ~3 ms: 6 µs per credential
DELIVERY_CHUNK = ISSUE_CHUNK  # one delivery message per issued chunk: each message costs its sender ~1 ms
# Deliveries wait behind issuance: a batch is sealed first (each credential is then readable and
# verifiable through the API), its e-mails follow. Celery on Redis serves priority 0 before 9; on
# RabbitMQ (no x-max-priority queue) the value is ignored and messages are served in order.
DELIVERY_PRIORITY = 9


def chunks(ids: Sequence[T], size: int = ISSUE_CHUNK) -> list[list[T]]:
    return [list(ids[i:i + size]) for i in range(0, len(ids), size)]


class Dispatcher(Protocol):
    """Enqueue pipeline work by row id."""

    def issue(self, credential_ids: Sequence[str], eta: dt.datetime | None = None) -> None: ...

    def deliver(self, delivery_id: int, eta: dt.datetime | None = None) -> None: ...

    def deliver_many(self, delivery_ids: Sequence[int]) -> None: ...


BROKER_PAUSE = 10.0
"""Seconds during which a dispatcher that could not reach its broker stops trying (each try costs the
request a connection attempt); the rows wait for the outbox sweep meanwhile."""
BROKER_TIMEOUT = 3.0  # connecting to, and each command on, the broker: a hung broker costs a request this much


class CeleryDispatcher:
    """Send Celery messages by task name; ids are grouped so a 50,000 batch is 1,000 messages.

    The web process only produces messages, so it uses its own small Celery client bound to the
    app's settings rather than the worker module (which reads the environment at import).

    A broker that is down or hung never fails the caller: the rows are already committed (they are
    the outbox), so a message that cannot be sent is logged and left to the sweep, which enqueues
    every row still pending after ``EDC_SWEEP_GRACE``. Intake therefore answers 202 with Redis or
    RabbitMQ down; after one failure the dispatcher skips the broker for ``BROKER_PAUSE`` seconds so
    a 50,000 batch does not wait on 100 connection attempts.
    """

    def __init__(self, broker_url: str, queue: str) -> None:
        from celery import Celery

        self._client = Celery("edc_bridge_client", broker=broker_url)
        self._client.conf.update(
            task_serializer="json", broker_connection_retry_on_startup=True,
            broker_connection_timeout=BROKER_TIMEOUT,
            task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                       "interval_max": 0.2},
            broker_transport_options={"visibility_timeout": 3600, "socket_connect_timeout": BROKER_TIMEOUT,
                                      "socket_timeout": BROKER_TIMEOUT})
        self._queue = queue
        self._paused_until = 0.0

    def _send(self, name: str, args: list[object], **options: object) -> bool:
        """Publish one message; False (logged) when the broker cannot take it."""
        from kombu.exceptions import OperationalError

        if time.monotonic() < self._paused_until:
            return False
        try:
            self._client.send_task(name, args=args, queue=self._queue, **options)
        except (OperationalError, OSError) as exc:
            self._paused_until = time.monotonic() + BROKER_PAUSE
            log.warning("broker unreachable (%s): %s left to the outbox sweep", type(exc).__name__, name)
            return False
        return True

    def issue(self, credential_ids: Sequence[str], eta: dt.datetime | None = None) -> None:
        for group in chunks(credential_ids):
            if not self._send("bridge.issue", [group], eta=eta):
                return

    def deliver(self, delivery_id: int, eta: dt.datetime | None = None) -> None:
        self._send("bridge.deliver", [delivery_id], eta=eta, priority=DELIVERY_PRIORITY)

    def deliver_many(self, delivery_ids: Sequence[int]) -> None:
        for group in chunks(delivery_ids, DELIVERY_CHUNK):
            if not self._send("bridge.deliver_many", [group], priority=DELIVERY_PRIORITY):
                return


class InProcessDispatcher:
    """Run the task functions on one background thread of this process (embedded default).

    One thread keeps SQLite writes serialised; the HTTP request still answers 202 at once. Deliveries
    due later (retry back-off) are left to the sweep, which ``edc-bridge serve`` runs periodically.
    """

    def __init__(self, issue: Callable[[Sequence[str]], None], deliver: Callable[[int], None],
                 deliver_many: Callable[[Sequence[int]], None] | None = None) -> None:
        self._issue = issue
        self._deliver = deliver
        self._deliver_many = deliver_many
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edc-tasks")
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()

    def _submit(self, fn: Callable[..., None], *args: object) -> None:
        def run() -> None:
            try:
                fn(*args)
            except Exception as exc:  # the row keeps the state; the sweep retries
                log.warning("in-process task %s failed: %s", getattr(fn, "__name__", "task"),
                            type(exc).__name__)

        with self._lock:
            future = self._pool.submit(run)
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def issue(self, credential_ids: Sequence[str], eta: dt.datetime | None = None) -> None:
        if eta is not None and eta > dt.datetime.now(dt.UTC):
            return  # no timer thread here: the sweep picks the rows up once they are due
        for group in chunks(credential_ids):
            self._submit(self._issue, group)

    def deliver(self, delivery_id: int, eta: dt.datetime | None = None) -> None:
        if eta is not None and eta > dt.datetime.now(dt.UTC):
            return
        self._submit(self._deliver, delivery_id)

    def deliver_many(self, delivery_ids: Sequence[int]) -> None:
        if self._deliver_many is None:
            for delivery_id in delivery_ids:
                self._submit(self._deliver, delivery_id)
            return
        for group in chunks(delivery_ids, DELIVERY_CHUNK):
            self._submit(self._deliver_many, group)

    def drain(self, timeout: float = 120.0) -> None:
        """Wait until no work is queued (demo and tests); tasks may enqueue follow-ups meanwhile."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                with self._lock:
                    pending = list(self._pending)
                if not pending:
                    return
                for future in pending:
                    future.result(timeout=timeout)
            raise TimeoutError("in-process tasks did not finish in time")
        finally:
            timer.cancel()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
