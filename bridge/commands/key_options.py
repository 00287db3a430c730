"""Command-line options that choose the eSeal, shared by every command that signs or inspects it.

They stand for the environment variables of :mod:`sealer.keys.config`, so a registrar can try a key
from the command line exactly as the sidecar will open it from its environment.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sealer.keys import KeySource, KeySourceError
from sealer.keys.config import DEV_SEAL_DIRNAME, describe_key_source, open_key_source

# Command-line options -> the environment variables of sealer.keys.config they stand for.
_PATH_OPTIONS = {
    "pkcs12": "EDC_SEAL_PKCS12",
    "password_file": "EDC_SEAL_PKCS12_PASSWORD_FILE",
    "pkcs11_module": "EDC_SEAL_PKCS11_MODULE",
    "token_label": "EDC_SEAL_PKCS11_TOKEN_LABEL",
    "key_label": "EDC_SEAL_PKCS11_KEY_LABEL",
    "pin_file": "EDC_SEAL_PKCS11_PIN_FILE",
    "certificate": "EDC_SEAL_PKCS11_CERT",
    "chain": "EDC_SEAL_CHAIN",
}
_ENV_OPTIONS = {"password_env": "EDC_SEAL_PKCS12_PASSWORD", "pin_env": "EDC_SEAL_PKCS11_PIN"}


def key_source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the key-source options to a click command."""
    existing = click.Path(exists=True, dir_okay=False)
    options = [
        click.option("--pkcs12", type=existing, help="PKCS#12 (.p12/.pfx) file with the eSeal key."),
        click.option("--password-file", type=existing, help="File whose first line is the PKCS#12 password."),
        click.option("--password-env", metavar="VAR", help="Environment variable with the PKCS#12 password."),
        click.option("--pkcs11-module", type=existing,
                     help="PKCS#11 library of the token/HSM, e.g. /usr/lib/softhsm/libsofthsm2.so."),
        click.option("--token-label", help="Label of the token holding the eSeal key."),
        click.option("--key-label", help="Label of the private key (and of its certificate on the token)."),
        click.option("--pin-file", type=existing, help="File whose first line is the token's user PIN."),
        click.option("--pin-env", metavar="VAR", help="Environment variable holding the token's user PIN."),
        click.option("--certificate", type=existing,
                     help="eSeal certificate file (PEM/DER), when the token holds only the key."),
        click.option("--chain", type=existing, help="PEM file of intermediate CA certificates."),
        click.option("--dev-seal", "dev_seal_dir", metavar="DATA_DIR",
                     type=click.Path(file_okay=False, path_type=Path),
                     help=f"Use (creating it once) the development seal in DATA_DIR/{DEV_SEAL_DIRNAME}/. "
                          "NOT QUALIFIED."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def settings_from_options(options: dict[str, Any]) -> dict[str, str]:
    """The environment's EDC_* settings, with the key source replaced if any key option was given.

    Options replace rather than mix with the environment's key settings, so ``--pkcs12 x.p12`` on a
    host configured for a token checks the file, instead of failing as "two sources configured".
    """
    settings = {name: value for name, value in os.environ.items() if name.startswith("EDC_")}
    given = {env: str(options[name]) for name, env in _PATH_OPTIONS.items() if options.get(name)}
    for name, env in _ENV_OPTIONS.items():
        variable = options.get(name)
        if variable:
            value = os.environ.get(variable)
            if not value:
                raise click.ClickException(f"--{name.replace('_', '-')}: environment variable {variable} "
                                           "is not set")
            given[env] = value
    if options.get("dev_seal_dir"):
        given["EDC_DEV_SEAL"] = "1"
        given["EDC_DATA_DIR"] = str(options["dev_seal_dir"])
    if given:
        settings = {k: v for k, v in settings.items()
                    if not k.startswith("EDC_SEAL_") and k != "EDC_DEV_SEAL"}
        settings.update(given)
    return settings


def open_from_options(options: dict[str, Any]) -> tuple[KeySource, str]:
    """Open the chosen key source; returns it with a description that never includes secrets."""
    settings = settings_from_options(options)
    try:
        return open_key_source(settings), describe_key_source(settings)
    except KeySourceError as exc:
        raise click.ClickException(str(exc)) from None
