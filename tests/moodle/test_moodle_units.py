"""Configuration, text and state rules of the poller, without servers."""
from __future__ import annotations

from pathlib import Path

import pytest

from moodle_adapter.config import ConfigError, load_config
from moodle_adapter.moodle_client import flatten_params
from moodle_adapter.state import State, StateError, run_lock
from moodle_adapter.template import CourseDataError, build_template, is_marked
from moodle_adapter.text import language_code, language_map

from .fake_moodle import course_record, customfield

FIELDS = {"ects": "edc_ects", "eqf_level": "edc_eqf", "isced_f": "edc_iscedf", "language": "edc_lang"}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"EDC_MOODLE_URL": "https://moodle.example.org/", "EDC_MOODLE_TOKEN": "t0k3n",
           "EDC_MOODLE_SIDECAR_URL": "http://127.0.0.1:8080", "EDC_MOODLE_SOURCE": "moodle-main",
           "EDC_MOODLE_API_KEY": "k3y", "EDC_MOODLE_COURSES": "2, 3",
           "EDC_MOODLE_STATE": str(tmp_path / "s.json")}
    env.update(extra)
    return env


def test_config_from_environment_only(tmp_path: Path) -> None:
    config = load_config(None, env=_env(tmp_path))
    assert (config.moodle_url, config.course_ids, config.source) == ("https://moodle.example.org", [2, 3],
                                                                    "moodle-main")
    assert "t0k3n" not in repr(config) and "k3y" not in repr(config)


def test_environment_overrides_file_and_secret_files(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("from-file\n")
    path = tmp_path / "c.toml"
    path.write_text(f'[moodle]\nurl = "https://a.example"\ntoken = "file-token"\n'
                    f'[sidecar]\nurl = "http://s"\nsource = "src"\napi_key_file = "{tmp_path / "key"}"\n'
                    f'[courses]\nmarker_field = "edc_issue"\n'
                    f'[state]\npath = "{tmp_path / "s.json"}"\n[fields]\nects = "credits"\n')
    config = load_config(path, env={"EDC_MOODLE_URL": "https://b.example"})
    assert config.moodle_url == "https://b.example" and config.moodle_token == "file-token"
    assert config.api_key == "from-file" and config.fields["ects"] == "credits"
    assert config.marker_field == "edc_issue" and config.course_ids == []


@pytest.mark.parametrize(("change", "message"), [
    ({"EDC_MOODLE_TOKEN": ""}, "moodle.token: missing"),
    ({"EDC_MOODLE_API_KEY": ""}, "sidecar.api_key: missing"),
    ({"EDC_MOODLE_SOURCE": "a/b"}, "sidecar.source: expected a source name without '/'"),
    ({"EDC_MOODLE_COURSES": "2,x"}, "courses.ids: course ids must be integers"),
    ({"EDC_MOODLE_COURSES": ""}, "courses: give course ids"),
    ({"EDC_MOODLE_STATE": ""}, "state.path: missing"),
    ({"EDC_MOODLE_SIDECAR_URL": "localhost:8080"}, "sidecar.url: expected an http(s) URL"),
    ({"EDC_MOODLE_API_KEY": "", "EDC_MOODLE_API_KEY_FILE": "/nonexistent/key"}, "api_key_file: cannot read"),
])
def test_config_errors_name_the_setting(tmp_path: Path, change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, env=_env(tmp_path, **change))
    assert str(caught.value).startswith(message)
    assert "t0k3n" not in str(caught.value) and "k3y" not in str(caught.value)


def test_flatten_params_like_moodle_rest() -> None:
    assert flatten_params({"courseids": [4, 5], "options": [{"name": "userfields", "value": "id"}],
                           "flag": True, "skip": None}) == [
        ("courseids[0]", "4"), ("courseids[1]", "5"), ("options[0][name]", "userfields"),
        ("options[0][value]", "id"), ("flag", "1")]


def test_language_maps_from_multilang_markup() -> None:
    assert language_map('<span lang="de" class="multilang">Daten</span> <span class="multilang" lang="fr_ca">'
                        "Données</span>", "en") == {"de": "Daten", "fr": "Données"}
    assert language_map("{mlang other}Data{mlang}{mlang fr}Données{mlang}", "en") \
        == {"en": "Data", "fr": "Données"}
    assert language_map("<b>Plain</b>&nbsp;text", "fr") == {"fr": "Plain text"}
    assert language_map("", "en") == {} and language_code("pt_br") == "pt" and language_code("??") is None


@pytest.mark.parametrize(("fields", "error"), [
    ([customfield("edc_ects", "text", "lots")], "customfield edc_ects: ECTS must be a number"),
    ([customfield("edc_ects", "text", "500")], "customfield edc_ects: ECTS credits must be between"),
    ([customfield("edc_iscedf", "text", "61")], "customfield edc_iscedf: ISCED-F must be a 4-digit"),
    ([customfield("edc_lang", "text", "en, français")], "customfield edc_lang: not a language code"),
])
def test_bad_custom_fields_name_the_field(fields, error: str) -> None:
    with pytest.raises(CourseDataError) as caught:
        build_template(course_record(7, "C", "C", fields), [], FIELDS, {})
    assert str(caught.value).startswith(error)


def test_course_language_and_marker() -> None:
    course = course_record(7, "Cours", "C", [customfield("edc_issue", "checkbox", "1"),
                                           customfield("edc_eqf", "select", "2", "EQF 5")], lang="fr")
    built = build_template(course, [], FIELDS, {"languages": ["en", "fr"]})
    assert built.template["title"] == {"fr": "Cours"} and built.template["eqf_level"] == 5
    assert is_marked(course, "edc_issue") and not is_marked(course, "other_field")
    assert built.warnings == ["no ESCO-tagged competency: the credential will carry no learning outcome"]


def test_state_round_trip_atomic_and_locked(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.json"
    state = State.load(path)
    state.course(2, now=100, backfill=False).sent["10"] = {"credential_id": "c1", "completed_at": 160}
    state.course(3, now=100, backfill=True)
    state.save()
    again = State.load(path)
    assert again.courses["2"].since == 100 and again.courses["2"].sent["10"]["credential_id"] == "c1"
    assert again.courses["3"].since == 0
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".state-")] == []
    path.write_text("{not json")
    with pytest.raises(StateError, match="state file .* is unreadable"):
        State.load(path)
    with run_lock(path), pytest.raises(StateError, match="another poller run holds"), run_lock(path):
        pass


def test_documented_configuration_loads(tmp_path: Path) -> None:
    """The example in docs/moodle.md is a working configuration."""
    doc = (Path(__file__).parents[2] / "docs" / "moodle.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "moodle.toml"
    path.write_text(example)
    config = load_config(path, env={"EDC_MOODLE_TOKEN": "t", "EDC_MOODLE_API_KEY": "k"})
    assert config.marker_field == "edc_issue" and config.course_ids == [42]
    assert config.defaults["awarding_body"]["country"] == "FR" and config.policy == {"issue_when": "passed"}
    template = build_template(course_record(42, "Cours", "C", [customfield("edc_eqf", "select", "4", "4")]),
                              [], config.fields, config.defaults, config.policy).template
    assert template["eqf_level"] == 4 and template["assessment"]["pass_score"] == 50


def test_adapter_never_imports_the_sidecar_packages() -> None:
    """The adapter must run on a host without bridge/sealer: it talks HTTP only."""
    import ast

    package = Path(__file__).parents[2] / "moodle_adapter"
    imported = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert "moodle_adapter" in imported and not imported & {"bridge", "sealer", "edx_xblock"}
