"""Credential pipeline: assemble → conformance → seal → store → deliver, driven by database rows.

``pipeline`` holds the task bodies (plain functions), ``dispatch`` decides where they run (a Celery
worker, or this process when no broker is configured), ``celery_app`` wraps them as Celery tasks and
``sweep`` re-enqueues work a lost message or a killed worker left behind.
"""
