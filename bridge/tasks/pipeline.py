"""Task bodies of the pipeline, as plain functions over database rows.

Each step is idempotent: it reads the row, does its work only if the row is still in the state the
step expects, and writes the result with a compare-and-set on that state. Running a step twice (a
redelivered message, the sweep racing a slow worker) therefore never seals twice or sends twice
from the same state.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, sessionmaker

from bridge.db.bulk import compare_and_set_many, insert_returning
from bridge.db.history import AttemptRecord, record_delivery_attempts
from bridge.db.models import PENDING_CREDENTIAL_STATUSES, CourseTemplate, Credential, Delivery, utcnow
from bridge.db.sealed_store import STORE, CorruptSealedFile, Dictionary
from bridge.delivery.retry import RetryPolicy
from bridge.tasks.claims import ClaimKeeper, ClaimLost
from bridge.tasks.dispatch import Dispatcher
from bridge.tasks.services import CredentialBuilder, DeliveryOutcome, PermanentIssueError, Services

log = logging.getLogger(__name__)

MAX_ISSUE_ATTEMPTS = 8
DELIVERY_LEASE = dt.timedelta(minutes=10)
RECORD_EVERY = 20
# A send slower than this (a PDF to make, a slow relay) is recorded at once: batching saves nothing
# worth having then, and a worker killed later cannot leave it unrecorded to be sent again.
RECORD_SLOW_STEP = 0.05
# Transient issuance failures (TSA, HSM, database hiccup): 30 s, 1 min, 2 min … 30 min at most.
ISSUE_RETRY = RetryPolicy(max_attempts=MAX_ISSUE_ATTEMPTS, base_delay=30.0, max_delay=1800.0)


@dataclass
class Context:
    """What a task needs: sessions, the sealing/delivery services and where to enqueue follow-ups."""

    sessions: sessionmaker[Session]
    services: Services
    dispatcher: Dispatcher
    metrics: Any = field(default=None)
    lease: dt.timedelta = DELIVERY_LEASE


def _set(session: Session, cred_id: str, expected: str, revision: int | None = None, **values: Any) -> bool:
    """Compare-and-set on the credential status (and ``revision`` when given: the completion it was built
    from is still the stored one); False when another run or a correction got there first."""
    values.setdefault("updated_at", utcnow())
    # Core UPDATE on the connection: the ORM's bulk-update machinery costs more than the write itself.
    table = Credential.__table__
    same_revision = () if revision is None else (table.c.revision == revision,)
    result = session.connection().execute(table.update().where(table.c.id == cred_id, table.c.status == expected,
                                                               *same_revision).values(**values))
    return (result.rowcount or 0) == 1


@dataclass
class _Issued:
    cred_id: str
    expected: str
    revision: int
    channels: list[str]
    dictionary: Dictionary | None
    values: dict[str, Any]


@dataclass
class _Built:
    """A credential of the chunk, assembled and waiting to be sealed with the others."""

    cred_id: str
    status: str
    revision: int
    template: Any
    dictionary: Dictionary | None
    version: int | None
    payload: bytes
    escaped: bytes | None

    @property
    def assembled(self) -> dict[str, Any]:
        """What a retry needs to seal the very same credential (nothing when it was assembled before)."""
        if self.status != "received":
            return {}
        return {"credential_json": self.payload.decode("utf-8"), "template_version": self.version}


@dataclass
class _Builder:
    """A chunk's builder for one template, and the dictionary its sealed files are stored with."""

    builder: CredentialBuilder
    dictionary: Dictionary | None


OVER_TIME = ("assembling this credential reached the task time limit (EDC_TASK_TIME_LIMIT): its completion "
             "or its course template makes the work unbounded")


def issue_many(ctx: Context, credential_ids: list[str], deadline: float | None = None) -> dict[str, str]:
    """Issue a chunk of credentials: read them together, build and seal each, write them together.

    One bad credential never stops the others (its row records why). Returns each id's status.

    Bounded in time: a Celery worker's soft time limit (``SoftTimeLimitExceeded``) raised while one
    credential is assembled fails that credential with the reason and hands the rest of the chunk
    to a new task, so one pathological input cannot hold a worker; raised while the template is
    compiled or the chunk is sealed (a hung time-stamping authority), it is a transient failure
    retried with back-off. The in-process
    runner, which cannot interrupt a thread, passes a ``deadline`` (``time.monotonic()``) checked
    between credentials instead.
    """
    outcome: dict[str, str] = {}
    table = Credential.__table__
    with ctx.sessions() as session:
        # Core rows, not ORM entities: a chunk is hundreds of rows carrying their completion JSON.
        conn = session.connection()
        rows = conn.execute(select(table.c.id, table.c.source, table.c.course_id, table.c.status,
                                   table.c.completion, table.c.credential_json, table.c.template_version,
                                   table.c.revision)
                            .where(_among(table.c.id, credential_ids))).all()
        keys = {(r.source, r.course_id) for r in rows if r.status in PENDING_CREDENTIAL_STATUSES}
        templates = {key: session.scalar(select(CourseTemplate).where(
            CourseTemplate.source == key[0], CourseTemplate.course_id == key[1])) for key in keys}
    builders: dict[tuple[str, str], _Builder | PermanentIssueError] = {}
    issued: list[_Issued] = []
    retries: dict[int, list[str]] = {}
    built: list[_Built] = []
    for index, row in enumerate(rows):
        outcome[row.id] = row.status
        if row.status not in PENDING_CREDENTIAL_STATUSES:
            continue  # already sealed, skipped, failed or revoked: nothing to do
        if deadline is not None and time.monotonic() > deadline:
            return _hand_over(ctx, rows[index:], built, retries, outcome)
        try:
            template = templates.get((row.source, row.course_id))
            if template is None:
                raise PermanentIssueError("the course template was deleted before issuance")
            if row.status == "received":
                try:
                    builder, dictionary = _builder(ctx, builders, template)
                except SoftTimeLimitExceeded as exc:  # compiling the template: not this credential's doing
                    outcome[row.id] = _record_issue_failure(ctx, row.id, row.status, exc, {}, retries)
                    return _hand_over(ctx, rows[index + 1:], built, retries, outcome)
                payload, escaped = builder.build(row.completion, credential_id=row.id, issued=utcnow())
                built.append(_Built(row.id, row.status, row.revision, template, dictionary, template.version,
                                    payload, escaped))
            else:  # assembled earlier, sealing failed: seal the stored text as it is
                built.append(_Built(row.id, row.status, row.revision, template, None, row.template_version,
                                    row.credential_json.encode("utf-8"), None))
        except SoftTimeLimitExceeded:
            log.error("credential %s: assembly reached the task time limit", row.id)
            outcome[row.id] = _record_issue_failure(ctx, row.id, row.status, PermanentIssueError(OVER_TIME), {},
                                                    retries)
            return _hand_over(ctx, rows[index + 1:], built, retries, outcome)
        except Exception as exc:
            outcome[row.id] = _record_issue_failure(ctx, row.id, row.status, exc, {}, retries, row.revision)
    # The chunk is sealed together: at B-LT/B-LTA its validation data is gathered once (sealer.jades.bulk).
    try:
        sealed_files = ctx.services.seal_chunk([(item.payload, item.escaped) for item in built])
    except Exception as exc:
        for item in built:
            outcome[item.cred_id] = _record_issue_failure(ctx, item.cred_id, item.status, exc, item.assembled,
                                                          retries, item.revision)
        built, sealed_files = [], []
    for item, sealed in zip(built, sealed_files, strict=True):
        try:
            frame = STORE.pack(sealed, item.dictionary)
        except Exception as exc:
            outcome[item.cred_id] = _record_issue_failure(ctx, item.cred_id, item.status, exc, item.assembled,
                                                          retries, item.revision)
            continue
        issued.append(_Issued(item.cred_id, item.status, item.revision,
                              list(item.template.policy.get("channels", ["email"])),
                              item.dictionary,
                              {"template_version": item.version, "sealed_zstd": frame,
                               "sealed_dictionary_id": None if item.dictionary is None else item.dictionary.id}))
    _schedule_retries(ctx, retries)
    if not issued:
        return outcome
    won, delivery_ids = _store_sealed(ctx, issued, outcome)
    for item in won:
        outcome[item.cred_id] = "sealed"
    log.info("sealed %d credential(s)", len(won))
    if ctx.metrics is not None:
        ctx.metrics.sealed.inc(len(won))
    if delivery_ids:
        ctx.dispatcher.deliver_many(delivery_ids)
    return outcome


def _hand_over(ctx: Context, rest: list[Any], built: list[_Built], retries: dict[int, list[str]],
               outcome: dict[str, str]) -> dict[str, str]:
    """Stop this chunk: what is not written yet (nothing of it is) goes to a new task with a full time budget."""
    _schedule_retries(ctx, retries)
    ids = [item.cred_id for item in built] + [row.id for row in rest if row.status in PENDING_CREDENTIAL_STATUSES]
    for row in rest:
        outcome.setdefault(row.id, row.status)
    if ids:
        log.warning("issuing chunk stopped at its time limit; %d credential(s) handed to a new task", len(ids))
        ctx.dispatcher.issue(ids)
    return outcome


def _builder(ctx: Context, builders: dict[tuple[str, str], _Builder | PermanentIssueError],
             template: CourseTemplate) -> tuple[CredentialBuilder, Dictionary | None]:
    """The chunk's builder for ``template`` and its storage dictionary; an invalid template fails each
    of its rows the same way."""
    key = (template.source, template.course_id)
    if key not in builders:
        try:
            builder = ctx.services.credential_builder(
                template.template, (template.source, template.course_id))
            builders[key] = _Builder(builder, None if builder.dictionary is None else STORE.prepare(builder.dictionary))
        except PermanentIssueError as exc:
            builders[key] = exc
    found = builders[key]
    if isinstance(found, PermanentIssueError):
        raise found
    return found.builder, found.dictionary


def _among(column: Any, values: list[str]) -> Any:
    """``column IN (values)`` with the values rendered into the SQL text.

    A chunk's hundreds of ids as named parameters cost the driver ~2 ms per query just to rewrite
    the placeholders; SQLAlchemy renders (and escapes) literal strings instead.
    """
    return column.in_(bindparam("among", values, expanding=True, literal_execute=True))


def _store_sealed(ctx: Context, issued: list[_Issued], outcome: dict[str, str]) -> tuple[list[_Issued], list[int]]:
    """Write the chunk's seals with compare-and-set; returns the rows this run won and their delivery ids.

    One batch of compare-and-set updates that says which rows this run won: the chunk costs a round
    trip or two instead of one per credential. The unsealed text
    is dropped: the sealed JWS carries it as its payload, byte for byte. The dictionaries the frames
    were packed with are written first, in the same transaction.
    """
    now = utcnow()
    table = Credential.__table__
    dictionaries = [item.dictionary for item in issued if item.dictionary is not None]
    with ctx.sessions() as session:
        STORE.save_dictionaries(session, dictionaries)
        mine = compare_and_set_many(
            session, table, [{"id": item.cred_id, "status": item.expected, "revision": item.revision, **item.values}
                             for item in issued],
            key="id", guard=("status", "revision"),
            values={"status": "sealed", "sealed_at": now, "updated_at": now, "error": None, "credential_json": None})
        won = [item for item in issued if item.cred_id in mine]
        # These credentials were unsealed until this transaction, so their delivery rows are new.
        delivery_ids = insert_returning(session, Delivery, [
            {"credential_id": item.cred_id, "channel": channel, "status": "pending", "attempts": 0,
             "updated_at": now} for item in won for channel in wallet_first(item.channels)],
            ("credential_id", "channel"), "id")
        session.commit()
        conn = session.connection()  # the commit released the previous one
        if len(won) < len(issued):  # another run sealed some of them first: report what they hold
            lost = [item.cred_id for item in issued if item.cred_id not in mine]
            outcome.update(conn.execute(select(table.c.id, table.c.status)
                                        .where(_among(table.c.id, lost))).all())
    return won, delivery_ids


def issue_one(ctx: Context, cred_id: str) -> str | None:
    """Issue one credential (see :func:`issue_many`); None when the row does not exist."""
    return issue_many(ctx, [cred_id]).get(cred_id)


def _record_issue_failure(ctx: Context, cred_id: str, expected: str, exc: Exception,
                          assembled: dict[str, Any], retries: dict[int, list[str]], revision: int | None = None) -> str:
    """Permanent errors fail the credential; others are counted, and the id is added to ``retries``
    under its attempt number so the chunk can schedule it again (the sweep remains the safety net).

    An assembled credential is kept (its id and issue date) so that the retry seals the same one.
    """
    permanent = isinstance(exc, PermanentIssueError)
    if isinstance(exc, SoftTimeLimitExceeded):
        message = "the task time limit (EDC_TASK_TIME_LIMIT) was reached; retried with back-off"
    else:
        message = str(exc) if permanent else f"{type(exc).__name__}: {ctx.services.safe_message(exc)}"
    log.warning("credential %s: issuance %s (%s)", cred_id,
                "failed" if permanent else "will be retried", type(exc).__name__)
    with ctx.sessions() as session:
        attempts = (session.scalar(select(Credential.attempts).where(Credential.id == cred_id)) or 0) + 1
        final = permanent or attempts >= MAX_ISSUE_ATTEMPTS
        status = "failed" if final else ("assembled" if assembled else expected)
        changed = _set(session, cred_id, expected, revision, attempts=attempts, error=message[:2000], status=status,
                       **({} if final else assembled))
        session.commit()
    if changed and not final:
        retries.setdefault(attempts, []).append(cred_id)
    return status if changed else expected


def _schedule_retries(ctx: Context, retries: dict[int, list[str]]) -> None:
    """Enqueue transiently failed credentials again after a back-off that grows with their attempts.

    Failures come in bursts (a timestamp authority or an HSM down for a while), so the rows of one
    chunk usually share their attempt number and go out as one delayed message.
    """
    for attempts, ids in retries.items():
        delay = ISSUE_RETRY.next_delay(attempts)
        if delay is not None:
            ctx.dispatcher.issue(ids, eta=utcnow() + dt.timedelta(seconds=delay))


def deliver_one(ctx: Context, delivery_id: int) -> str | None:
    """Send one credential through one channel (see :func:`deliver_many`); None when there is no such row."""
    return deliver_many(ctx, [delivery_id]).get(delivery_id)


@dataclass
class _Attempt:
    delivery_id: int
    cred_id: str
    channel: str
    attempts: int
    outcome: DeliveryOutcome


def deliver_many(ctx: Context, delivery_ids: list[int]) -> dict[int, str]:
    """Send a chunk of deliveries, each at most once per claim; returns each id's status.

    The rows are claimed together by moving them to ``sending`` under this run's token
    (:class:`~bridge.tasks.claims.ClaimKeeper`): a heartbeat keeps the claim alive while the run
    works, each send is preceded by a check that the row is still this run's, and outcomes are
    written only to rows still holding the token. A worker killed while sending leaves ``sending``
    rows whose heartbeat stops; the sweep returns them to ``pending`` one lease later. Outcomes are
    recorded every ``RECORD_EVERY`` messages: one transaction for several instead of one each, while
    a crash can leave at most that many sent-but-unrecorded messages to be sent again (with the same
    Message-ID). When sends are slow (``RECORD_SLOW_STEP``: sealed PDFs, a slow relay) each outcome
    is recorded right away, so a crash can repeat only the message it was sending.
    """
    d, c = Delivery.__table__, Credential.__table__
    keeper = ClaimKeeper(ctx.sessions, ctx.lease)
    with ctx.sessions() as session:
        claimed = keeper.claim(session, delivery_ids)
        session.commit()
        rows = session.execute(
            select(d.c.id.label("delivery_id"), d.c.status, d.c.channel, d.c.attempts, c.c.id,
                   c.c.status.label("credential_status"), c.c.sealed_zstd, c.c.sealed_dictionary_id, c.c.completion)
            .join_from(d, c, d.c.credential_id == c.c.id).where(_among(d.c.id, delivery_ids))).all()
        sealed: dict[int, bytes | CorruptSealedFile] = {}
        for row in rows:
            if row.delivery_id in claimed and row.sealed_zstd is not None:
                try:
                    sealed[row.delivery_id] = STORE.unpack(session, row.sealed_zstd, row.sealed_dictionary_id)
                except CorruptSealedFile as exc:  # one damaged row must not hold back the chunk
                    sealed[row.delivery_id] = exc
    outcome: dict[int, str] = {row.delivery_id: str(row.status) for row in rows}
    done: list[_Attempt] = []
    rows = sorted(rows, key=lambda row: row.channel != "wallet")
    with keeper:
        for row in rows:
            if row.delivery_id not in claimed:
                continue  # claimed by another run, finished already, or not due yet: its status stands
            if row.channel != "wallet" and done and done[-1].channel == "wallet":
                # The e-mail says what became of the wallet deposit (in it, or upload it by hand): record
                # the chunk's deposits before its e-mails are written.
                _finish_deliveries(ctx, keeper, done, outcome)
                done = []
            keeper.progress()
            step_started = time.monotonic()
            file = sealed.get(row.delivery_id)
            if row.credential_status == "revoked" or file is None:
                done.append(_Attempt(row.delivery_id, row.id, row.channel, row.attempts,
                                     DeliveryOutcome("cancelled", error="the credential was revoked")))
            elif isinstance(file, CorruptSealedFile):
                log.error("credential %s: %s", row.id, file)
                done.append(_Attempt(row.delivery_id, row.id, row.channel, row.attempts + 1,
                                     DeliveryOutcome("failed", error=str(file))))
            else:
                attempt = row.attempts + 1
                try:
                    result = ctx.services.deliver(
                        row.channel, credential_id=row.id, completion=dict(row.completion),
                        credential_json=sealed_payload(file), sealed=file, attempt=attempt,
                        claim=keeper.guard(row.delivery_id))
                except ClaimLost:
                    log.warning("credential %s: %s delivery no longer claimed by this run; not sent",
                                row.id, row.channel)
                    if ctx.metrics is not None:
                        ctx.metrics.claims_lost.labels(channel=row.channel, stage="before_send").inc()
                    continue
                done.append(_Attempt(row.delivery_id, row.id, row.channel, attempt, result))
            keeper.settled(row.delivery_id)
            keeper.progress()
            if len(done) >= RECORD_EVERY or time.monotonic() - step_started >= RECORD_SLOW_STEP:
                _finish_deliveries(ctx, keeper, done, outcome)
                done = []
        if done:
            _finish_deliveries(ctx, keeper, done, outcome)
    return outcome


def wallet_first(channels: list[str]) -> list[str]:
    """A credential's channels with the wallet deposit before the rest (stable otherwise), so that a chunk
    tries the deposit first and the e-mail can tell the learner its outcome."""
    return sorted(channels, key=lambda channel: channel != "wallet")


def sealed_payload(sealed: bytes) -> str:
    """The credential JSON text inside a sealed file (JAdES with an unencoded payload, RFC 7797)."""
    payload = json.loads(sealed)["payload"]
    if not isinstance(payload, str):
        raise ValueError("the sealed file has no unencoded payload")
    return payload


def _finish_deliveries(ctx: Context, keeper: ClaimKeeper, attempts: list[_Attempt], outcome: dict[int, str]) -> None:
    """Record the attempts and, for credentials with no channel left pending, their overall status.

    Only rows still claimed by ``keeper``'s token are written (locked, then updated where the token
    matches): an outcome whose claim was lost is logged and counted, never written over another
    run's work. Every attempt goes into the history, since it did happen.

    The credential rows are locked first (PostgreSQL ``FOR UPDATE``, in id order so concurrent
    workers cannot deadlock; SQLite has one writer anyway), so the email and wallet deliveries of one
    credential finishing at the same moment cannot both read the other as still sending and leave
    the credential unsettled. Retries due later are enqueued with their time.
    """
    d, c = Delivery.__table__, Credential.__table__
    now = utcnow()
    cred_ids = sorted({a.cred_id for a in attempts})
    with ctx.sessions() as session:
        conn = session.connection()
        current = dict(conn.execute(select(c.c.id, c.c.status).where(_among(c.c.id, cred_ids))
                                    .order_by(c.c.id).with_for_update()).all())
        mine = keeper.mine(conn, [a.delivery_id for a in attempts])
        owned = [a for a in attempts if a.delivery_id in mine]
        if owned:
            conn.execute(d.update().where(d.c.id == bindparam("b_id"), d.c.claim_token == keeper.token).values(
                status=bindparam("b_status"), attempts=bindparam("b_attempts"), last_error=bindparam("b_error"),
                next_attempt_at=bindparam("b_next", type_=d.c.next_attempt_at.type), updated_at=now,
                claim_token=None, heartbeat_at=None,
                result=func.coalesce(bindparam("b_result", type_=d.c.result.type), d.c.result)),
                [{"b_id": a.delivery_id, "b_status": a.outcome.status, "b_attempts": a.attempts,
                  "b_error": a.outcome.error, "b_next": a.outcome.retry_at, "b_result": a.outcome.result}
                 for a in owned])
        record_delivery_attempts(conn, [AttemptRecord(a.cred_id, a.channel, a.attempts,
                                                      "unknown" if a.outcome.unknown else a.outcome.status,
                                                      a.outcome.error, a.outcome.result) for a in attempts])
        siblings: dict[str, list[str]] = {}
        for cred_id, status in conn.execute(select(d.c.credential_id, d.c.status)
                                            .where(_among(d.c.credential_id, cred_ids))):
            siblings.setdefault(cred_id, []).append(status)
        settled = [{"b_id": cred_id, "b_status": status} for cred_id in cred_ids
                   if (status := settled_status(current[cred_id], siblings.get(cred_id, []))) is not None
                   and status != current[cred_id]]
        if settled:
            conn.execute(c.update().where(c.c.id == bindparam("b_id"))
                         .values(status=bindparam("b_status"), updated_at=now), settled)
        session.commit()
    for a in attempts:
        if a.delivery_id not in mine:
            # Only a worker frozen for longer than the lease gets here: the row went to another run.
            log.error("credential %s: %s delivery was released while this run held its outcome (%s); "
                      "not recorded", a.cred_id, a.channel, a.outcome.status)
            if ctx.metrics is not None:
                ctx.metrics.claims_lost.labels(channel=a.channel, stage="after_send").inc()
            continue
        outcome[a.delivery_id] = a.outcome.status
        log.info("credential %s: %s delivery %s (attempt %d)", a.cred_id, a.channel, a.outcome.status, a.attempts)
        if ctx.metrics is not None:
            ctx.metrics.deliveries.labels(channel=a.channel, outcome=a.outcome.status).inc()
        if a.outcome.status == "pending" and a.outcome.retry_at is not None:
            ctx.dispatcher.deliver(a.delivery_id, eta=a.outcome.retry_at)


def settled_status(current: str, delivery_statuses: list[str]) -> str | None:
    """The credential status its deliveries imply, or None while one is pending (or it is not sealed)."""
    if current not in ("sealed", "delivered", "partially_delivered", "failed") or not delivery_statuses:
        return None
    if any(s in ("pending", "sending") for s in delivery_statuses):
        return None
    done = [s for s in delivery_statuses if s != "cancelled"]
    if not done:
        return None
    delivered = sum(s == "delivered" for s in done)
    if delivered == len(done):
        return "delivered"
    return "partially_delivered" if delivered else "failed"
