"""Flask application factory of the sidecar."""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence

from flask import Flask, request
from sqlalchemy.engine import make_url

from bridge import console, problems
from bridge.api import completions, credentials, health, inputs, openapi, templates, verify_api
from bridge.api.common import Runtime
from bridge.auth import Authenticator
from bridge.config import Settings, seal_level_notice
from bridge.db.session import session_factory
from bridge.esco.api import esco_bp
from bridge.metrics import Metrics
from bridge.request_body import BodyDeadline
from bridge.tasks.dispatch import CeleryDispatcher, Dispatcher, InProcessDispatcher
from bridge.tasks.pipeline import Context, deliver_many, deliver_one, issue_many
from bridge.tasks.services import Services
from bridge.web import credential_page
from bridge.web import feed as catalogue_feed
from bridge.web import pages as web_pages

BATCH_ENDPOINT = "completions.post_batch"
log = logging.getLogger(__name__)


def public_url_notice(settings: Settings) -> str | None:
    """The start-up line about EDC_PUBLIC_URL, or None when it is usable (see bridge.public_url)."""
    from bridge.public_url import problem

    found = problem(settings.env)
    if found is None:
        return None
    if settings.dev_seal:
        return f"{found}; tolerated because the development seal is in use"
    return f"{found}; sealing is refused (except with a development seal) until it is set"


def create_app(settings: Settings | None = None, *, dispatcher: Dispatcher | None = None,
               migrate: bool | None = None) -> Flask:
    """Build the sidecar app.

    ``settings`` default to the environment. ``migrate`` runs the Alembic upgrade at start; by
    default only for SQLite (the embedded, one-command setup), while production databases are
    migrated explicitly with ``edc-bridge db upgrade``.
    """
    settings = settings or Settings.from_env()
    for notice in (public_url_notice(settings), seal_level_notice(settings)):
        if notice:
            log.warning("%s", notice)
    if migrate is None:
        migrate = make_url(settings.database_url).get_backend_name() == "sqlite"
    if migrate:
        from bridge.db.migrate import upgrade

        upgrade(settings.database_url)
    sessions = session_factory(settings.database_url)
    services = Services(settings, sessions)
    lease = dt.timedelta(seconds=settings.delivery_lease)
    metrics = Metrics(sessions, lease=lease)
    context = Context(sessions=sessions, services=services, dispatcher=None,  # type: ignore[arg-type]
                      metrics=metrics, lease=lease)
    if dispatcher is None:
        if settings.broker_url:
            dispatcher = CeleryDispatcher(settings.broker_url, settings.celery_queue)
        else:
            # A thread cannot be interrupted: the time limit is a deadline checked between credentials.
            dispatcher = InProcessDispatcher(issue=lambda ids: issue_many(
                context, list(ids), deadline=time.monotonic() + settings.task_time_limit),
                                             deliver=lambda delivery_id: deliver_one(context, delivery_id),
                                             deliver_many=lambda ids: deliver_many(context, list(ids)))
    context.dispatcher = dispatcher

    app = Flask("bridge")
    app.config["MAX_CONTENT_LENGTH"] = max(settings.max_body_bytes, settings.max_batch_bytes)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["edc"] = Runtime(settings=settings, sessions=sessions,
                                    authenticator=Authenticator(sessions, settings.admin_token,
                                                                settings.signature_window),
                                    dispatcher=dispatcher, context=context, metrics=metrics)

    @app.before_request
    def _limit_body() -> None:
        """Batches may be large; every other route keeps the small limit (413 beyond it)."""
        limit = settings.max_batch_bytes if request.endpoint == BATCH_ENDPOINT else settings.max_body_bytes
        request.max_content_length = limit

    app.wsgi_app = BodyDeadline(app.wsgi_app, settings.body_timeout)  # type: ignore[method-assign]
    problems.install(app)
    inputs.install(app)
    metrics.install(app)
    blueprints: Sequence = (templates.bp, completions.bp, credentials.bp, health.bp, openapi.bp, verify_api.bp,
                            web_pages.bp, catalogue_feed.bp, credential_page.bp, esco_bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    console.install(app)
    return app
