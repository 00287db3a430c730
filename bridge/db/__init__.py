"""Persistence of the sidecar: SQLAlchemy 2 models (the outbox is the source of truth) and sessions."""
