"""The container image: its size, how fast a container of it starts serving, and its memory.

Run as root: ``python bench/docker_bench.py [--runs N] [--batch N]``. Starts a Docker engine of its
own (tests/docker/engine.py: ``--iptables=false --ip6tables=false --ip-forward=false --bridge=none``, stopped by PID
at the end), builds docker/Dockerfile on the debootstrap base, then prints:

* the image's size, its base's, and what its layers add;
* start-up: ``docker run`` of the ``serve`` role (host network, loopback, SQLite, development seal)
  until ``/healthz`` answers 200, median of N runs, beside the raw baseline of the same run: the
  same ``edc-bridge serve`` started from this machine's virtual environment, and a bare
  ``docker run … true`` (what the engine itself costs);
* memory of the serve container idle, and after sealing a batch in process (the pipeline a worker
  runs), from the container's cgroup (``docker stats``): what docker/k8s/ sizes its pods by.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.docker.engine import Engine, base_image, build_image, finish, inspect, start_engine  # noqa: E402

ADMIN = secrets.token_urlsafe(16)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _until(predicate: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("not ready in time")
        time.sleep(0.05)


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MiB"


def _serve_container(engine: Engine, tag: str, port: int, data: Path) -> str:
    return engine.docker("run", "-d", "--network", "host", "-v", f"{data}:/var/lib/edc-bridge",
                         "-e", "EDC_HOST=127.0.0.1", "-e", f"EDC_PORT={port}", "-e", "EDC_DEV_SEAL=1",
                         "-e", f"EDC_ADMIN_TOKEN={ADMIN}", tag, "serve").stdout.strip()


def container_startup(engine: Engine, tag: str, work: Path) -> float:
    data = work / f"data-{secrets.token_hex(3)}"
    data.mkdir()
    os.chown(data, 10001, 10001)
    port = _free_port()
    started = time.perf_counter()
    cid = _serve_container(engine, tag, port, data)
    try:
        _until(lambda: _healthy(port))
        return time.perf_counter() - started
    finally:
        engine.docker("rm", "-f", cid, check=False)


def host_startup(work: Path) -> float:
    port = _free_port()
    env = {**os.environ, "EDC_DATA_DIR": str(work / f"host-{secrets.token_hex(3)}"), "EDC_DEV_SEAL": "1"}
    for name in list(env):
        if name.startswith("EDC_") and name not in ("EDC_DATA_DIR", "EDC_DEV_SEAL"):
            env.pop(name)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the image has its bytecode compiled; so should the baseline
    started = time.perf_counter()
    process = subprocess.Popen([str(Path(sys.executable).with_name("edc-bridge")), "serve", "--host", "127.0.0.1",
                                "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _until(lambda: _healthy(port))
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


def bare_run(engine: Engine, tag: str) -> float:
    started = time.perf_counter()
    engine.docker("run", "--rm", "--network", "host", "--entrypoint", "true", tag)
    return time.perf_counter() - started


def memory(engine: Engine, cid: str) -> str:
    return engine.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", cid).stdout.split("/")[0].strip()


def memory_under_load(engine: Engine, tag: str, work: Path, batch: int) -> tuple[str, str, float]:
    data = work / "load"
    data.mkdir()
    os.chown(data, 10001, 10001)
    port = _free_port()
    cid = _serve_container(engine, tag, port, data)
    try:
        _until(lambda: _healthy(port))
        idle = memory(engine, cid)
        engine.docker("exec", cid, "edc-bridge", "sources", "add", "moodle-main")
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {ADMIN}"}
        template = json.loads((ROOT / "examples" / "course-template.json").read_text(encoding="utf-8"))
        # The e-mail channel with no SMTP server set: each credential also writes its .eml to the outbox.
        requests.put(f"{base}/api/v1/sources/moodle-main/courses/42/template", json=template, headers=auth,
                     timeout=60).raise_for_status()
        completion = json.loads((ROOT / "examples" / "completion.json").read_text(encoding="utf-8"))
        items = [{**completion, "learner": {**completion["learner"], "id": f"m{i}"}} for i in range(batch)]
        started = time.perf_counter()
        posted = requests.post(f"{base}/api/v1/completions:batch", json={"completions": items}, headers=auth,
                               timeout=300)
        posted.raise_for_status()
        batch_id = posted.json()["batch_id"]
        _until(lambda: requests.get(f"{base}/api/v1/batches/{batch_id}", headers=auth, timeout=30).json()["done"],
               timeout=900)
        return idle, memory(engine, cid), time.perf_counter() - started
    finally:
        engine.docker("rm", "-f", cid, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("docker_bench: needs root to run its own Docker engine; skipped")
        return 0
    # A timeout's SIGTERM must still stop the engine (the finally below), not leave it running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    engine = start_engine()
    try:
        base = base_image(engine)
        image = build_image(engine, base)
        size = inspect(engine, image.tag)[0]["Size"]
        base_size = inspect(engine, base)[0]["Size"]
        print(f"image {image.tag}: {_mib(size)} (Debian base {_mib(base_size)}, "
              f"+{_mib(size - base_size)}); build {image.build_seconds:.1f} s", flush=True)
        for line in engine.docker("history", "--format", "{{.Size}}\t{{.CreatedBy}}", image.tag).stdout.splitlines():
            added, step = line.split("\t", 1)
            if not added.startswith("0B"):
                print(f"  {added:>8}  {step[:90]}")
        with tempfile.TemporaryDirectory(prefix="edc-docker-bench-") as tmp:
            work = Path(tmp)
            bare = statistics.median(bare_run(engine, image.tag) for _ in range(args.runs))
            container = statistics.median(container_startup(engine, image.tag, work) for _ in range(args.runs))
            host_startup(work)  # warm-up: writes the venv's bytecode caches
            host = statistics.median(host_startup(work) for _ in range(args.runs))
            print(f"start-up to /healthz 200 (serve, SQLite, dev seal; median of {args.runs}):")
            print(f"  container {container:.2f} s | same command from the host's venv {host:.2f} s "
                  f"(ratio {container / host:.2f}) | bare `docker run true` {bare:.2f} s", flush=True)
            idle, loaded, seconds = memory_under_load(engine, image.tag, work, args.batch)
            print(f"memory of the serve container: idle {idle}; after sealing {args.batch} completions "
                  f"in process ({seconds:.1f} s) {loaded}")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end")
    finally:
        finish(engine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
