"""The Tutor plugin, rendered by Tutor itself (Tutor from PyPI): `tutor plugins enable`, `tutor config
save` renders the whole environment with the plugin's patches, `tutor config printvalue` answers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTOR = Path(sys.executable).with_name("tutor")
BODY = {"legal_name": {"en": "Université Exemple"}, "legal_identifier": "123456789", "country": "FR",
        "homepage": "https://univ.example"}
MARKER = "# EDC Bridge (tutor-contrib-edc-bridge)"


def tutor(root: Path, *args: str) -> str:
    env = {**os.environ, "TUTOR_ROOT": str(root / "tutor"), "TUTOR_PLUGINS_ROOT": str(root / "plugins")}
    result = subprocess.run([str(TUTOR), *args], env=env, capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"tutor {' '.join(args)}: {result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result.stdout


def _settings_block(rendered: str) -> dict:
    """Run the plugin's patch (as the settings module would) and return the EDC_BRIDGE it sets."""
    lines = rendered.splitlines()
    start = lines.index(MARKER)
    snippet = "\n".join(lines[start:start + 2])
    namespace: dict = {"EDC_BRIDGE": {"TIMEOUT": 9, "OTHER": "kept"}}
    exec(compile(snippet, "patch", "exec"), namespace)  # noqa: S102  (our own rendered settings patch)
    return namespace["EDC_BRIDGE"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not TUTOR.exists():
        pytest.fail("tutor is not installed: make venv installs edx_xblock/tutor_plugin[test]")
    root = tmp_path_factory.mktemp("tutor")
    assert "edc-bridge" in tutor(root, "plugins", "list")
    tutor(root, "plugins", "enable", "edc-bridge")
    tutor(root, "config", "save", "--set", "EDC_BRIDGE_SIDECAR_URL=https://edc.univ.example",
          "--set", f"EDC_BRIDGE_AWARDING_BODY={json.dumps(BODY)}",
          "--set", 'EDC_BRIDGE_ELIGIBLE_MODES=["verified", "professional"]')
    return root


def test_config_values_and_a_unique_key(rendered: Path) -> None:
    key = tutor(rendered, "config", "printvalue", "EDC_BRIDGE_API_KEY").strip()
    assert len(key) == 40 and key.isalnum()
    tutor(rendered, "config", "save")
    assert tutor(rendered, "config", "printvalue", "EDC_BRIDGE_API_KEY").strip() == key  # generated once
    assert tutor(rendered, "config", "printvalue", "EDC_BRIDGE_SOURCE").strip() == "openedx"
    assert tutor(rendered, "config", "printvalue", "EDC_BRIDGE_PIP_REQUIREMENT").strip() == "edc-bridge-openedx==0.2.0"
    config = (rendered / "tutor" / "config.yml").read_text(encoding="utf-8")
    assert "EDC_BRIDGE_API_KEY" in config  # kept with Tutor's own secrets, not in a generated file


@pytest.mark.parametrize("side", ["lms", "cms"])
def test_settings_patches_for_lms_and_studio(rendered: Path, side: str) -> None:
    path = rendered / "tutor" / "env" / "apps" / "openedx" / "settings" / side / "production.py"
    text = path.read_text(encoding="utf-8")
    compile(text, str(path), "exec")  # the whole rendered settings module is valid Python
    settings = _settings_block(text)
    key = tutor(rendered, "config", "printvalue", "EDC_BRIDGE_API_KEY").strip()
    assert settings["SIDECAR_URL"] == "https://edc.univ.example" and settings["API_KEY"] == key
    assert settings["AWARDING_BODY"] == BODY and settings["ELIGIBLE_MODES"] == ["verified", "professional"]
    assert settings["SEND_DELAY_SECONDS"] == 30 and settings["POLICY"] is None
    assert settings["OTHER"] == "kept"  # what the platform's settings already had stays


def test_image_gets_the_package_with_the_images_pip_and_the_translations(rendered: Path) -> None:
    dockerfile = (rendered / "tutor" / "env" / "build" / "openedx" / "Dockerfile").read_text(encoding="utf-8")
    assert "$PIP_COMMAND install 'edc-bridge-openedx==0.2.0'" in dockerfile
    assert "conf/plugins-locale/xblock.v1/edx_xblock" in dockerfile
    assert dockerfile.index("edc-bridge-openedx==") < dockerfile.index("conf/plugins-locale/xblock.v1/edx_xblock")
    env_dir = rendered / "tutor" / "env"
    ours = [p for p in env_dir.rglob("*") if "edc" in p.name.lower()]
    assert ours == []  # the plugin adds patches and values, never files of its own under env/
