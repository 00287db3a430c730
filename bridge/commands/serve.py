"""``edc-bridge serve``, ``db upgrade``, ``sources add|list`` and ``sweep``: running the sidecar."""
from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bridge.config import ConfigError, Settings

_UNIX_PATH_MAX = 104  # sun_path: 108 bytes on Linux, 104 on the BSDs and macOS


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def start_embedded_sweeper(app: Any, stop: threading.Event) -> threading.Thread:
    """Without a broker nothing else runs the outbox sweep (and delivery retries): do it here."""
    from bridge.tasks.sweep import sweep

    rt = app.extensions["edc"]

    def loop() -> None:
        while not stop.wait(rt.settings.sweep_interval):
            try:
                sweep(rt.sessions, rt.dispatcher, grace=rt.settings.sweep_grace,
                      signature_window=rt.settings.signature_window, retries_due_now=True,
                      lease=dt.timedelta(seconds=rt.settings.delivery_lease))
            except Exception as exc:  # keep sweeping; the next round retries
                click.echo(f"sweep failed: {type(exc).__name__}", err=True)

    thread = threading.Thread(target=loop, name="edc-sweeper", daemon=True)
    thread.start()
    return thread


def start_embedded_harvester(app: Any, stop: threading.Event) -> threading.Thread:
    """Without a broker (no Celery beat), harvest the partners' catalogue feeds from here: shortly
    after start, then every EDC_CATALOGUE_HARVEST_INTERVAL seconds."""
    from bridge.catalogue.harvest import harvest_all

    rt = app.extensions["edc"]

    def loop() -> None:
        delay = 5.0
        while not stop.wait(delay):
            delay = float(rt.settings.catalogue_harvest_interval)
            try:
                harvest_all(rt.sessions, rt.settings)
            except Exception as exc:  # keep harvesting; each feed's faults are handled inside
                click.echo(f"catalogue harvest failed: {type(exc).__name__}", err=True)

    thread = threading.Thread(target=loop, name="edc-catalogue-harvest", daemon=True)
    thread.start()
    return thread


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="TCP port.")
@click.option("--workers", default=None, type=int,
              help="Gunicorn worker processes (default: 1 embedded, 2 with a broker).")
@click.option("--threads", default=32, show_default=True, type=int,
              help="Threads per worker (a thread is held while a client sends its request body).")
@click.option("--control-socket", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Gunicorn's control socket (gunicornc) [default: $EDC_DATA_DIR/gunicorn.ctl, one per instance].")
def serve(host: str, port: int, workers: int | None, threads: int, control_socket: Path | None) -> None:
    """Run the sidecar HTTP API with gunicorn (database migrated first).

    Without EDC_BROKER_URL the pipeline runs inside the server process (embedded mode), so one
    worker process is used; with a broker, run Celery workers beside it. Request counters of all
    worker processes are added up in /metrics (PROMETHEUS_MULTIPROC_DIR, default
    $EDC_DATA_DIR/metrics, emptied at start).
    """
    settings = _settings()
    from bridge.metrics import MULTIPROC_ENV, prepare_multiprocess

    # Before any metric exists: the app's counters must go to the shared folder.
    prepare_multiprocess(Path(os.environ.get(MULTIPROC_ENV) or settings.data_dir / "metrics"))

    from gunicorn.app.base import BaseApplication
    from prometheus_client import multiprocess

    from bridge.access_log import EscapingLogger
    from bridge.app import create_app, public_url_notice
    from bridge.db.migrate import upgrade

    control = control_socket or settings.data_dir / "gunicorn.ctl"
    notice = public_url_notice(settings)
    if notice:
        click.echo(f"warning: {notice}", err=True)
    upgrade(settings.database_url)
    embedded = not settings.broker_url
    worker_count = workers or (1 if embedded else 2)
    stop = threading.Event()

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", worker_count)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")
            # Query strings may carry learner ids; log the method, path and status only, escaped
            # (a CR/LF in the path must not start a forged line).
            self.cfg.set("access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms')
            self.cfg.set("logger_class", EscapingLogger)
            # Gunicorn's default control socket is one path per user: a second instance would take it
            # over and remove it on exit. Each instance gets its own (Unix socket paths are short).
            if len(str(control.resolve())) < _UNIX_PATH_MAX:
                self.cfg.set("control_socket", str(control.resolve()))
            else:
                click.echo(f"warning: no control socket ({control} is too long a path for a Unix socket)",
                           err=True)
                self.cfg.set("control_socket_disable", True)
            self.cfg.set("child_exit", lambda _server, worker: multiprocess.mark_process_dead(worker.pid))

        def load(self) -> Any:
            app = create_app(settings, migrate=False)
            if embedded:
                start_embedded_sweeper(app, stop)
                if settings.catalogue_partners:
                    start_embedded_harvester(app, stop)
            return app

    click.echo(f"EDC Bridge on http://{host}:{port} ({'embedded tasks' if embedded else 'Celery broker'}, "
               f"{worker_count} worker(s))")
    _Server().run()


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations (safe to repeat)."""
    from bridge.db.migrate import upgrade

    upgrade(_settings().database_url)
    click.echo("database is up to date")


@click.group()
def sources() -> None:
    """LMS sources allowed to post completions."""


MIN_IMPORTED_KEY = 32


@sources.command("add")
@click.argument("name")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Use the API key in this file (first line, at least 32 characters; e.g. one Tutor generated "
                   "with `tutor config printvalue EDC_BRIDGE_API_KEY`) instead of generating one.")
def sources_add(name: str, key_file: Path | None) -> None:
    """Register source NAME and print its API key (shown this once; only its hash is stored)."""
    from bridge.auth import generate_api_key, hash_api_key, valid_source_name
    from bridge.db.models import Source
    from bridge.db.session import session_factory

    if not valid_source_name(name):
        raise click.BadParameter("use letters, digits, '.', '_' or '-' (at most 64)", param_hint="NAME")
    from bridge.db.migrate import upgrade

    url = _settings().database_url
    upgrade(url)  # a fresh install can register its first source before the first `serve`
    if key_file is not None:
        lines = key_file.read_text(encoding="utf-8").splitlines()
        api_key = lines[0].strip() if lines else ""
        if len(api_key) < MIN_IMPORTED_KEY or not api_key.isprintable() or " " in api_key:
            raise click.BadParameter(f"the first line must be a key of at least {MIN_IMPORTED_KEY} printable "
                                     "characters without spaces", param_hint="--key-file")
    else:
        api_key = generate_api_key()
    with session_factory(url)() as session:
        session.add(Source(name=name, key_hash=hash_api_key(api_key)))
        try:
            session.commit()
        except IntegrityError:
            raise click.ClickException(f"source '{name}' already exists") from None
    if key_file is not None:
        click.echo(f"source '{name}' registered with the API key from {key_file.name}")
        return
    click.echo(f"source '{name}' registered. API key (store it in the LMS now; it is not shown again):")
    click.echo(api_key)


@sources.command("list")
def sources_list() -> None:
    """List registered sources (names and creation dates, never keys)."""
    from bridge.db.models import Source
    from bridge.db.session import session_factory

    with session_factory(_settings().database_url)() as session:
        for row in session.scalars(select(Source).order_by(Source.name)):
            click.echo(f"{row.name}\t{row.created_at.isoformat()}")


@click.command("sweep")
def sweep_command() -> None:
    """Re-enqueue pending work once (what Celery beat does every EDC_SWEEP_INTERVAL)."""
    from bridge.app import create_app
    from bridge.tasks.dispatch import InProcessDispatcher
    from bridge.tasks.sweep import sweep

    settings = _settings()
    app = create_app(settings, migrate=False)
    rt = app.extensions["edc"]
    report = sweep(rt.sessions, rt.dispatcher, grace=settings.sweep_grace,
                   signature_window=settings.signature_window, lease=dt.timedelta(seconds=settings.delivery_lease),
                   retries_due_now=isinstance(rt.dispatcher, InProcessDispatcher))
    if isinstance(rt.dispatcher, InProcessDispatcher):
        rt.dispatcher.drain()
    click.echo(f"re-enqueued {report.credentials} credential(s) and {report.deliveries} delivery(ies); "
               f"{report.unstuck} stuck delivery(ies) released")


COMMANDS = [serve, db, sources, sweep_command]
