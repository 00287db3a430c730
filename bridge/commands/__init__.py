"""Command modules of the ``edc-bridge`` CLI; each exposes one click command or group."""
from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
