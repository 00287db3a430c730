"""``moodle-edc-bridge``: poll a Moodle site once (cron) or every N seconds (daemon).

Exit codes: 0 all went well, 1 some course or learner failed (details on stderr), 2 the
configuration or the site is unusable. The report names course and learner ids only.
"""
from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click

from moodle_adapter.config import ConfigError, load_config
from moodle_adapter.moodle_client import MoodleClient
from moodle_adapter.poller import Poller, SiteError
from moodle_adapter.report import RunReport
from moodle_adapter.sidecar_client import SidecarClient
from moodle_adapter.site_check import check as check_site_setup
from moodle_adapter.state import StateError, run_lock


def _print_report(report: RunReport) -> None:
    for problem in report.errors:
        click.echo(f"error: {problem}", err=True)
    for problem in report.warnings:
        click.echo(f"warning: {problem}", err=True)
    click.echo(report.summary(), err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML configuration file (default: $EDC_MOODLE_CONFIG).")
@click.option("--once", "mode", flag_value="once", default=True, help="Poll once and exit (cron).")
@click.option("--interval", type=click.IntRange(min=1), metavar="SECONDS",
              help="Poll again every SECONDS until stopped (daemon).")
@click.option("--backfill", is_flag=True, help="Also issue for completions older than the first run.")
@click.option("--dry-run", is_flag=True,
              help="Print what would be sent (JSON lines); send and record nothing.")
@click.option("--check", is_flag=True,
              help="Only check the set-up: token, functions, and each capability, probed on a real course.")
def main(config_path: Path | None, mode: str, interval: int | None, backfill: bool, dry_run: bool,
         check: bool) -> None:
    """Send Moodle course completions to the EDC Bridge sidecar for sealing."""
    del mode  # --once is the default; --interval switches to daemon mode
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        click.echo(f"error: configuration: {exc}", err=True)
        sys.exit(2)
    moodle = MoodleClient(config.moodle_url, config.moodle_token, timeout=config.timeout)
    sidecar = SidecarClient(config.sidecar_url, config.source, config.api_key, timeout=config.timeout)
    poller = Poller(config, moodle, sidecar, emit=click.echo)
    if check:
        result = check_site_setup(moodle, poller.select_courses, config.learner_roles)
        for line in result.ok_lines:
            click.echo(f"ok: {line}")
        for line in result.warnings:
            click.echo(f"warning: {line}")
        for line in result.missing:
            click.echo(f"missing: {line}")
        click.echo("set-up complete" if result.ok else "set-up incomplete: see the 'missing' lines")
        sys.exit(0 if result.ok else 2)
    try:
        poller.check_site()
    except SiteError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)

    stop = threading.Event()
    if interval:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    failed = False
    while True:
        try:
            with run_lock(config.state_path):
                report = poller.run_once(backfill=backfill, dry_run=dry_run)
        except StateError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        _print_report(report)
        failed = not report.ok
        backfill = False  # a backfill is a one-off: later passes only look at what is new
        if not interval or stop.wait(interval):
            break
    sys.exit(1 if failed else 0)
