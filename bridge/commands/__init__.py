"""Command modules of the ``edc-bridge`` CLI; each exposes one click command or group."""
from __future__ import annotations

import click

COMMANDS: list[click.Command] = []

from bridge.commands.esco import esco  # noqa: E402

COMMANDS.append(esco)

from bridge.commands.moodle_framework import moodle  # noqa: E402

COMMANDS.append(moodle)

from bridge.commands.serve import COMMANDS as _SERVE_COMMANDS  # noqa: E402

COMMANDS.extend(_SERVE_COMMANDS)

from bridge.commands.seal import seal, seal_xml  # noqa: E402
from bridge.commands.verify import verify  # noqa: E402

COMMANDS.extend([seal, seal_xml, verify])

from bridge.commands.keys import keys  # noqa: E402

COMMANDS.append(keys)

from bridge.commands.users import users  # noqa: E402

COMMANDS.append(users)

from bridge.commands.trust import trust  # noqa: E402

COMMANDS.append(trust)

from bridge.commands.catalogue import catalogue  # noqa: E402

COMMANDS.append(catalogue)
