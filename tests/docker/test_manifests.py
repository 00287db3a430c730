"""docker/: the Kubernetes manifests against Kubernetes' schemas, the compose files against the Compose
specification's schema, and the promises the files make to each other (roles, secrets, probes).

Both schema sets ship inside the PyPI packages (kubernetes-validate, check-jsonschema's vendored
compose-spec), so these tests run offline.
"""
from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
K8S = DOCKER / "k8s"
COMPOSE_FILES = ("compose.yaml", "compose.production.yaml", "compose.hostnet.yaml")
ROLES = {"serve", "worker", "beat", "migrate"}
# The oldest Kubernetes minor still commonly run, and the newest the package knows.
K8S_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())


def _documents() -> list[tuple[Path, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.rglob("*.yaml")):
        docs += [(path, doc) for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return docs


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in _documents() if doc["kind"] == kind}


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_manifests_validate_strictly(version: str) -> None:
    docs = _documents()
    assert {doc["kind"] for _, doc in docs} >= {"Deployment", "Job", "HorizontalPodAutoscaler", "Secret",
                                                "ConfigMap", "Service", "PodDisruptionBudget"}
    for path, doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.relative_to(ROOT)} {doc['kind']}/{doc['metadata']['name']}: {exc.message}")


def test_the_validator_refuses_a_broken_manifest() -> None:
    web = _by_kind("Deployment")["edc-bridge-web"]
    broken = {**web, "spec": {**web["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSIONS[-1], strict=True)


def _pod(name: str, kind: str = "Deployment") -> dict[str, Any]:
    return _by_kind(kind)[name]["spec"]["template"]["spec"]


def test_one_image_one_role_per_workload() -> None:
    roles = {}
    for name in ("edc-bridge-web", "edc-bridge-worker", "edc-bridge-beat"):
        (container,) = _pod(name)["containers"]
        roles[name] = container["args"][0]
    (job,) = _pod("edc-bridge-migrate", "Job")["containers"]
    roles["migrate"] = job["args"][0]
    assert set(roles.values()) == ROLES
    images = {c["image"] for _, d in _documents() if d["kind"] in ("Deployment", "Job")
              for c in d["spec"]["template"]["spec"]["containers"]}
    assert len(images) == 1


def test_probes_resources_and_non_root() -> None:
    web = _pod("edc-bridge-web")["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert _pod("edc-bridge-worker")["containers"][0]["livenessProbe"]["exec"]["command"] == ["edc-healthcheck"]
    for _, doc in _documents():
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
        for container in pod["containers"]:
            requests = container["resources"]["requests"]
            assert requests["cpu"] and requests["memory"] and container["resources"]["limits"]["memory"]
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert {"/var/lib/edc-bridge", "/tmp"} <= mounts  # the writable places of a read-only root


def test_exactly_one_beat_and_the_hpa_targets_the_workers() -> None:
    beat = _by_kind("Deployment")["edc-bridge-beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate"
    hpa = _by_kind("HorizontalPodAutoscaler")["edc-bridge-worker"]["spec"]
    assert hpa["scaleTargetRef"]["name"] in _by_kind("Deployment")
    assert hpa["metrics"][0]["external"]["metric"]["name"] == "edc_bridge_queue_length"


def test_secret_files_and_settings_line_up() -> None:
    """Every *_FILE setting points into a mounted Secret key; every setting is a documented one."""
    config = _by_kind("ConfigMap")["edc-bridge-config"]["data"]
    secrets = _by_kind("Secret")
    mounted = {}
    for volume in _pod("edc-bridge-web")["volumes"]:
        if "secret" in volume:
            (mount,) = [m for m in _pod("edc-bridge-web")["containers"][0]["volumeMounts"]
                        if m["name"] == volume["name"]]
            secret = secrets[volume["secret"]["secretName"]]
            keys = set(secret.get("data") or {}) | set(secret.get("stringData") or {})
            mounted.update({f"{mount['mountPath']}/{key}": key for key in keys})
    for name, value in config.items():
        if name.endswith("_FILE") or name in ("EDC_SEAL_PKCS12",):
            assert value in mounted, f"{name} points to {value}, which no Secret provides"
    documented = (ROOT / "README.md").read_text(encoding="utf-8") + (DOCKER / "README.md").read_text(encoding="utf-8")
    for name in config:
        assert f"`{name.removesuffix('_FILE')}" in documented, f"{name} is not documented"


def _compose(name: str) -> dict[str, Any]:
    return yaml.safe_load((DOCKER / name).read_text(encoding="utf-8"))


def test_compose_files_follow_the_compose_specification(tmp_path: Path) -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    files = [str(DOCKER / name) for name in COMPOSE_FILES]
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", *files],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "compose.yaml"  # a misspelt key: the specification allows no unknown property
    bad.write_text("services:\n  sidecar:\n    image: edc-bridge\n    restart_policy: always\n")
    refused = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(bad)],
                             capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 1, "the schema check accepts anything"


def test_compose_stack_shape() -> None:
    main = _compose("compose.yaml")
    services = main["services"]
    assert {"migrate", "sidecar", "worker", "beat", "postgres", "redis", "mailpit"} <= set(services)
    for name in ("sidecar", "worker", "beat", "migrate"):
        service = services[name]
        assert service["command"][0] in ROLES
        assert {"admin_token", "db_password"} <= set(service["secrets"])
        assert "edc-data:/var/lib/edc-bridge" in service["volumes"]
        if name != "migrate":
            assert service["restart"] == "unless-stopped"
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "build" in services["migrate"]  # built once; the other services run the same image
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]
    assert set(main["volumes"]) == {"edc-data", "pg-data", "redis-data"}
    hostnet = _compose("compose.hostnet.yaml")["services"]
    assert all(s["network_mode"] == "host" for s in hostnet.values())
    assert all("ports" not in s for s in hostnet.values())
    assert "postgres" not in hostnet and "redis" not in hostnet


COMPOSE_ENV = {"EDC_PUBLIC_URL": "https://credentials.univ.example", "EDC_SMTP_HOST": "smtp.univ.example",
               "EDC_MAIL_FROM": "registrar@univ.example"}


@pytest.mark.parametrize("files", [("compose.yaml",), ("compose.yaml", "compose.production.yaml"),
                                   ("compose.hostnet.yaml",)])
def test_compose_resolves(files: tuple[str, ...], tmp_path: Path) -> None:
    """docker-compose resolves the files (interpolation, anchors, overrides), as `up` would."""
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (make system-deps installs Debian's)")
    args = [compose, "--project-directory", str(DOCKER)]
    for name in files:
        args += ["-f", str(DOCKER / name)]
    env = {**os.environ, **COMPOSE_ENV, "EDC_SECRETS_DIR": str(tmp_path)}
    result = subprocess.run([*args, "config"], capture_output=True, text=True, timeout=120, check=False, env=env)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    if "compose.production.yaml" in files:
        sidecar = resolved["services"]["sidecar"]["environment"]
        assert sidecar["EDC_DEV_SEAL"] == "0" and sidecar["EDC_SEAL_PKCS12"] == "/run/secrets/seal_p12"
        assert sidecar["EDC_PUBLIC_URL"] == COMPOSE_ENV["EDC_PUBLIC_URL"]
        assert {"seal_p12", "seal_password"} <= {s["source"] if isinstance(s, dict) else s
                                                 for s in resolved["services"]["worker"]["secrets"]}
        missing = {k: v for k, v in env.items() if k != "EDC_SMTP_HOST"}
        refused = subprocess.run([*args, "config"], capture_output=True, text=True, timeout=120, check=False,
                                 env=missing)
        assert refused.returncode != 0 and "EDC_SMTP_HOST" in refused.stderr


# RFC 1918's three blocks, built from numbers so that no such address is written here either.
PRIVATE = [ipaddress.ip_network((10 << 24, 8)), ipaddress.ip_network((0xAC10 << 16, 12)),
           ipaddress.ip_network((0xC0A8 << 16, 16))]
ADDRESS = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")


def test_no_private_addresses_in_container_files() -> None:
    """Containers here reach loopback only; no file of docker/ or of these tests names a private address."""
    files = [p for p in (*DOCKER.rglob("*"), *Path(__file__).parent.rglob("*.py"), *(ROOT / "bench").glob("docker*"))
             if p.is_file()]
    found = []
    for path in files:
        for match in ADDRESS.findall(path.read_text(encoding="utf-8", errors="replace")):
            try:
                address = ipaddress.ip_address(match)
            except ValueError:
                continue
            if any(address in net for net in PRIVATE):
                found.append(f"{path.relative_to(ROOT)}: {match}")
    assert not found
