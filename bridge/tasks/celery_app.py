"""Celery application of the sidecar: ``celery -A bridge.tasks.celery_app worker``.

Configuration comes from the same environment as the web process (``EDC_BROKER_URL``,
``EDC_DATABASE_URL`` …). Tasks are ``acks_late`` with ``reject_on_worker_lost``: a message is only
acknowledged once its task has finished, so a killed worker's message is delivered again; the
task bodies are idempotent, so that repeat is harmless. Every task has a soft time limit
(``EDC_TASK_TIME_LIMIT``), which the issuing task turns into a failed credential with its reason, and
a hard one 10 % later that kills the child (prefork pool), so no input can hold a worker for ever.
Beat runs the outbox sweep (``celery -A bridge.tasks.celery_app beat``, or ``worker -B`` on a single
host), and, when ``EDC_CATALOGUE_PARTNERS`` is set, the harvest of the partners' catalogue feeds.
"""
from __future__ import annotations

import datetime as dt
import threading

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from bridge.config import Settings
from bridge.db.session import dispose_engine, session_factory
from bridge.tasks.dispatch import CeleryDispatcher
from bridge.tasks.pipeline import Context, deliver_many, deliver_one, issue_many
from bridge.tasks.services import Services
from bridge.tasks.sweep import sweep

_settings = Settings.from_env()

celery_app = Celery("edc_bridge", broker=_settings.broker_url or "memory://")
celery_app.conf.update(
    task_default_queue=_settings.celery_queue,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    broker_transport_options={"visibility_timeout": 3600},
    beat_schedule={"edc-outbox-sweep": {"task": "bridge.sweep", "schedule": float(_settings.sweep_interval)}},
)
if _settings.catalogue_partners:
    celery_app.conf.beat_schedule["edc-catalogue-harvest"] = {
        "task": "bridge.catalogue_harvest", "schedule": float(_settings.catalogue_harvest_interval),
        # A harvest still queued when the next is due is not worth running twice.
        "options": {"expires": float(_settings.catalogue_harvest_interval)}}
# Each partner's harvest stops itself after EDC_CATALOGUE_TIMEOUT (plus the LOQ check); the task's
# limits only catch what that cannot (a stuck database).
HARVEST_TIME_LIMIT = (_settings.catalogue_timeout + 120) * max(1, len(_settings.catalogue_partners))
app = celery_app  # `celery -A bridge.tasks.celery_app` finds either name

SOFT_LIMIT = _settings.task_time_limit
HARD_LIMIT = SOFT_LIMIT + max(5, SOFT_LIMIT // 10)  # time for the soft limit's handler to record the failure
LIMITS = {"soft_time_limit": SOFT_LIMIT, "time_limit": HARD_LIMIT}
celery_app.conf.update(task_soft_time_limit=SOFT_LIMIT, task_time_limit=HARD_LIMIT)

_ctx_lock = threading.Lock()
_ctx: Context | None = None


def context() -> Context:
    """The worker process's task context, built on first use (after fork)."""
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            sessions = session_factory(_settings.database_url)
            _ctx = Context(sessions=sessions, services=Services(_settings, sessions),
                           dispatcher=CeleryDispatcher(_settings.broker_url or "memory://",
                                                                _settings.celery_queue),
                           lease=dt.timedelta(seconds=_settings.delivery_lease))
        return _ctx


@worker_process_init.connect
def _after_fork(**_: object) -> None:
    """Forked prefork children must not share the parent's database connections."""
    global _ctx
    dispose_engine(_settings.database_url)
    _ctx = None


@worker_process_shutdown.connect
def _before_exit(**_: object) -> None:
    """Say QUIT to the SMTP server: prefork children exit without running ``atexit`` handlers."""
    ctx = _ctx
    if ctx is not None and "mail_transport" in vars(ctx.services):  # only if this child sent mail
        ctx.services.mail_transport.close()


@celery_app.task(name="bridge.issue", acks_late=True, **LIMITS)
def issue_task(credential_ids: list[str]) -> None:
    """Assemble, check, seal and store a chunk of credentials, then enqueue their deliveries."""
    issue_many(context(), list(credential_ids))


@celery_app.task(name="bridge.deliver", acks_late=True, **LIMITS)
def deliver_task(delivery_id: int) -> None:
    """One delivery attempt on one channel."""
    deliver_one(context(), int(delivery_id))


@celery_app.task(name="bridge.deliver_many", acks_late=True, **LIMITS)
def deliver_many_task(delivery_ids: list[int]) -> None:
    """One delivery attempt for each of a chunk of deliveries (one channel each)."""
    deliver_many(context(), [int(i) for i in delivery_ids])


@celery_app.task(name="bridge.sweep", acks_late=True, **LIMITS)
def sweep_task() -> None:
    """Re-enqueue work the database says is still pending (the outbox)."""
    ctx = context()
    sweep(ctx.sessions, ctx.dispatcher, grace=_settings.sweep_grace,
          signature_window=_settings.signature_window, retries_due_now=False,
          lease=dt.timedelta(seconds=_settings.delivery_lease))


@celery_app.task(name="bridge.catalogue_harvest", acks_late=True, soft_time_limit=HARVEST_TIME_LIMIT,
                 time_limit=HARVEST_TIME_LIMIT + 30)
def catalogue_harvest_task() -> None:
    """Harvest every partner's catalogue feed (``EDC_CATALOGUE_PARTNERS``); refusals keep the last good copy."""
    from bridge.catalogue.harvest import harvest_all

    harvest_all(context().sessions, _settings)
