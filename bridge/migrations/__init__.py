"""Alembic migrations of the sidecar database (run with `edc-bridge db upgrade`)."""
