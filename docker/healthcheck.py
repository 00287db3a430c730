#!/opt/edc-bridge/bin/python
"""Container health check of the EDC Bridge image: asks the role this container runs.

Docker runs it inside the container (HEALTHCHECK); the role is read from PID 1's command line
(``tini -- edc-entrypoint ROLE``), so one image needs no per-role configuration:

* ``serve``: ``GET /healthz`` on the local port answers 200 (database, broker and eSeal usable).
* ``worker``: the Celery worker of this container answers a ping through the broker.
* anything else (beat, migrate, a one-off command): healthy while it runs.

Kubernetes does not use this (its probes are in docker/k8s/), except as the worker's exec probe.
Exit status 0 is healthy, 1 is not; one line on stdout says why (no secrets, no URLs).
"""
from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path


def container_command(pid: int = 1) -> list[str]:
    """The arguments PID ``pid`` was started with, empty when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def role_of(command: list[str]) -> str:
    """The role given to the entry point (its first argument), ``serve`` when none was given."""
    for index, part in enumerate(command):
        if part.endswith("edc-entrypoint"):
            return command[index + 1] if index + 1 < len(command) else "serve"
    return command[0].rsplit("/", 1)[-1] if command else "unknown"


def check_web(env: dict[str, str]) -> tuple[bool, str]:
    host = env.get("EDC_HOST") or "0.0.0.0"  # noqa: S104 - the entry point's default listen address
    if host in ("0.0.0.0", "::", ""):  # noqa: S104
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{env.get('EDC_PORT') or '8080'}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - fixed local http URL
            return response.status == 200, f"healthz {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"healthz {exc.code}"
    except OSError as exc:
        return False, f"healthz unreachable: {type(exc).__name__}"


def worker_node() -> str | None:
    """The ``--hostname`` of this container's Celery worker (tini's child, started by the entry point)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid != 1:
            continue
        command = container_command(int(entry.name))
        if "--hostname" in command[:-1]:
            return command[command.index("--hostname") + 1]
    return None


def check_worker() -> tuple[bool, str]:
    node = worker_node()
    if node is None:
        return False, "no Celery worker process found"
    from celery import Celery

    from bridge.config import Settings

    broker = Settings.from_env().broker_url
    if not broker:
        return False, "EDC_BROKER_URL is not set"
    app = Celery("edc-healthcheck", broker=broker)
    try:
        replies = app.control.ping(destination=[node], timeout=5.0)
    finally:
        app.close()
    ok = any(node in reply for reply in replies)
    return ok, "worker answers" if ok else "worker does not answer the ping"


def main() -> int:
    role = role_of(container_command())
    if role == "serve":
        ok, why = check_web(dict(os.environ))
    elif role == "worker":
        try:
            ok, why = check_worker()
        except Exception as exc:  # the broker is down, the settings are wrong: unhealthy, say which
            ok, why = False, f"ping failed: {type(exc).__name__}"
    else:
        ok, why = True, f"{role} running"
    print(why)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
