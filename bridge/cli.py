"""The ``edc-bridge`` command line.

Each capability contributes its own click command or group from a module under
``bridge/commands/``; this module only assembles them, so adding a command never touches
another one.
"""
from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edc-bridge")
def main() -> None:
    """EDC Bridge: issue, seal and verify European Digital Credentials (ELM v3)."""


def _register() -> None:
    """Attach every command group; imported lazily so `--help` stays fast."""
    from bridge.commands import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register()
if __name__ == "__main__":
    main()
