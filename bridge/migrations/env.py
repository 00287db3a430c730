"""Alembic environment: the URL comes from the caller (bridge.db.migrate) or the sidecar config."""
from __future__ import annotations

from alembic import context

from bridge.config import Settings
from bridge.db.models import Base
from bridge.db.session import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run() -> None:
    """Online migrations only: the sidecar always has a reachable database when it migrates."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=Base.metadata,
                              render_as_batch=connection.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run()
