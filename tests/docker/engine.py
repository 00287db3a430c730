"""A Docker engine of the test's own, and the EDC Bridge image built in it.

The engine is Debian's ``dockerd`` started with ``--iptables=false --ip6tables=false --ip-forward=false
--bridge=none``: it touches none of the machine's network settings (checked after start: no ``docker0``
appears), so containers use host networking only, and everything they reach is on loopback. It gets
its own socket, exec-root and pid file, and is stopped by its PID.

No image registry is reachable, so the base image is a Debian root file system made by
``docker/base-image.sh`` (debootstrap) and loaded with ``docker import``. What is slow to make is
cached outside the repository, under ``$EDC_DOCKER_TEST_CACHE`` (default
``/var/cache/edc-bridge-test``): the base tarball, named by the hash of the script that makes it,
and the engine's data root (layers and BuildKit's apt and pip caches). One test run at a time
uses that data root (a lock file says which); a run that finds it taken uses a private one in a
temporary folder, built from scratch (the cached tarball still spares it debootstrap).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("EDC_DOCKER_TEST_CACHE") or "/var/cache/edc-bridge-test")
SUITE = "bookworm"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Nothing of the machine's network may change: no iptables/ip6tables rules, no forwarding, no docker0
# bridge. Containers then have host networking only (every address they reach is on loopback).
ENGINE_FLAGS = ("--iptables=false", "--ip6tables=false", "--ip-forward=false", "--bridge=none")


class EngineUnavailable(RuntimeError):
    """dockerd is missing or did not start; the message says why (the tests skip with it)."""


def _client_for(dockerd: str) -> str:
    """The docker CLI installed with this dockerd (Debian's docker.io): it builds with BuildKit
    without the buildx plug-in, which another docker CLI found first on PATH may lack."""
    beside = Path(dockerd).resolve().parent.parent / "bin" / "docker"
    return str(beside) if beside.exists() else (shutil.which("docker") or "docker")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_pid(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM, wait, then SIGKILL: one process, by its PID."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        time.sleep(0.2)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class Engine:
    """A running dockerd of this test run: its client, socket and the environment to call it with."""

    process: subprocess.Popen[bytes]
    client: str
    socket: Path
    run_dir: Path
    data_root: Path
    shared: bool
    log: Path
    lock: int | None = None
    env: dict[str, str] = field(default_factory=dict)

    def docker(self, *args: str, timeout: float = 300, check: bool = True,
               input: bytes | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([self.client, *args], env=self.env, capture_output=True, text=True,
                                timeout=timeout, check=False, input=None if input is None else input.decode())
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args[:3])} failed ({result.returncode}): "
                                 f"{result.stderr[-3000:] or result.stdout[-3000:]}")
        return result

    def stop(self) -> None:
        """Stop the engine by its PID (containerd, its child, goes with it), then free the data root."""
        _stop_pid(self.process.pid, timeout=60)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.lock is not None:
            os.close(self.lock)
        if not self.shared:
            shutil.rmtree(self.data_root, ignore_errors=True)
        # dockerd bind-mounts its network namespace file under the exec-root and leaves it mounted.
        for netns in (self.run_dir / "x" / "netns").glob("*"):
            subprocess.run(["umount", str(netns)], capture_output=True, check=False, timeout=30)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def _take_shared_data_root() -> tuple[Path, int] | None:
    """The cached data root and its lock, or None when another test run holds it (or CACHE is not ours)."""
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        fd = os.open(CACHE / "engine.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    data_root = CACHE / "engine"
    # A dockerd left behind by a killed run of ours (we hold the lock, so no live run owns it).
    pidfile = CACHE / "engine.pid"
    with contextlib.suppress(OSError, ValueError):
        stale = int(pidfile.read_text().strip())
        if _alive(stale) and Path(f"/proc/{stale}/exe").resolve().name == "dockerd":
            _stop_pid(stale, timeout=60)
    return data_root, fd


def start_engine(startup_timeout: float = 120.0) -> Engine:
    dockerd = shutil.which("dockerd") or ("/usr/sbin/dockerd" if Path("/usr/sbin/dockerd").exists() else None)
    if dockerd is None:
        raise EngineUnavailable("dockerd is not installed (Debian package docker.io; make system-deps installs it)")
    if os.geteuid() != 0:
        raise EngineUnavailable("dockerd needs root here (no rootless set-up)")
    run_dir = Path(tempfile.mkdtemp(prefix="edcd-", dir="/tmp"))  # short: containerd's socket paths are limited
    taken = _take_shared_data_root()
    if taken is not None:
        data_root, lock = taken
        pidfile = CACHE / "engine.pid"
    else:
        data_root, lock = run_dir / "data", None
        pidfile = run_dir / "dockerd.pid"
    had_docker0 = Path("/sys/class/net/docker0").exists()
    sock = run_dir / "docker.sock"
    config = run_dir / "daemon.json"
    config.write_text("{}")
    log = run_dir / "dockerd.log"
    command = [dockerd, *ENGINE_FLAGS, "--config-file", str(config), "--data-root", str(data_root),
               "--exec-root", str(run_dir / "x"), "--pidfile", str(pidfile), "-H", f"unix://{sock}",
               "--log-level", "warn"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    engine = Engine(process=process, client=_client_for(dockerd), socket=sock, run_dir=run_dir,
                    data_root=data_root, shared=taken is not None, log=log, lock=lock,
                    env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(run_dir),
                         "DOCKER_HOST": f"unix://{sock}", "DOCKER_BUILDKIT": "1",
                         "DOCKER_CONFIG": str(run_dir / "client"), "COMPOSE_DOCKER_CLI_BUILD": "1"})
    deadline = time.monotonic() + startup_timeout
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            engine.stop()
            raise EngineUnavailable(f"dockerd exited with {process.returncode}: {tail}")
        probe = subprocess.run([engine.client, "version", "--format", "{{.Server.Version}}"], env=engine.env,
                               capture_output=True, text=True, timeout=30, check=False)
        if probe.returncode == 0:
            if not had_docker0 and Path("/sys/class/net/docker0").exists():
                engine.stop()
                raise RuntimeError("dockerd created a docker0 bridge: it must leave the machine's network alone")
            return engine
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:]
            engine.stop()
            raise EngineUnavailable(f"dockerd did not answer within {startup_timeout:.0f} s: {tail}")
        time.sleep(0.5)


def clean_leftovers(engine: Engine) -> None:
    """Containers and volumes of an earlier, killed run in the shared data root are ours to remove."""
    ids = engine.docker("ps", "-aq").stdout.split()
    if ids:
        engine.docker("rm", "-f", "-v", *ids, timeout=120)
    engine.docker("volume", "prune", "-f", timeout=120)


def _file_digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def base_image(engine: Engine) -> str:
    """The Debian base image, imported from the cached tarball, made with debootstrap when missing."""
    script = ROOT / "docker" / "base-image.sh"
    tag = f"edc-bridge-base:{SUITE}-{_file_digest(script)}"
    if engine.docker("image", "inspect", tag, check=False).returncode == 0:
        return tag
    tarball = CACHE / f"base-{SUITE}-{_file_digest(script)}.tar"
    if not tarball.exists():
        if shutil.which("debootstrap") is None:
            raise AssertionError("debootstrap is not installed (make system-deps installs it)")
        try:
            CACHE.mkdir(parents=True, exist_ok=True)
            target = tarball
        except OSError:
            target = engine.run_dir / tarball.name
        with tempfile.TemporaryDirectory(dir=target.parent) as work:
            made = Path(work) / tarball.name
            subprocess.run(["bash", str(script), str(made), SUITE], check=True, capture_output=True, timeout=900)
            made.replace(target)
        tarball = target
        for old in CACHE.glob(f"base-{SUITE}-*.tar"):  # tarballs of earlier versions of the script
            if old != tarball:
                old.unlink(missing_ok=True)
    engine.docker("import", str(tarball), tag, timeout=600)
    return tag


@dataclass(frozen=True)
class Image:
    tag: str
    build_seconds: float
    output: str


def build_image(engine: Engine, base: str, tag: str = "edc-bridge:ci", extra: Sequence[str] = ()) -> Image:
    """``docker build --network host`` of docker/Dockerfile, pip's CA bundle passed as a build secret."""
    args = ["build", "--network", "host", "--progress", "plain", "--build-arg", f"BASE_IMAGE={base}",
            "-f", str(ROOT / "docker" / "Dockerfile"), "-t", tag, *extra]
    if HOST_CA_BUNDLE.exists():
        args += ["--secret", f"id=pipcert,src={HOST_CA_BUNDLE}"]
    started = time.monotonic()
    result = engine.docker(*args, str(ROOT), timeout=1200)
    return Image(tag=tag, build_seconds=time.monotonic() - started, output=result.stderr + result.stdout)


def prune(engine: Engine) -> None:
    """Keep the shared data root bounded: drop untagged images and build cache beyond a few GB."""
    engine.docker("image", "prune", "-f", timeout=300, check=False)
    engine.docker("builder", "prune", "-f", "--keep-storage", "4GB", timeout=300, check=False)


def inspect(engine: Engine, *names: str) -> list[dict]:
    return json.loads(engine.docker("inspect", *names).stdout)


def finish(engine: Engine) -> None:
    """Leave the shared data root tidy, then stop the engine."""
    if engine.shared:
        with contextlib.suppress(Exception):
            prune(engine)
    engine.stop()
