"""Configuration, course selection rules and state of the poller, without servers (the shared
template and completion rules are checked by test_rules_vectors.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from moodle_adapter.config import ConfigError, load_config
from moodle_adapter.moodle_client import flatten_params
from moodle_adapter.state import State, StateError, run_lock
from moodle_adapter.template import DEFAULT_FIELDS, CourseDataError, build_template, is_ticked


def _field(ftype: str, value: str, label: str | None = None) -> dict[str, str]:
    return {"type": ftype, "value": value, "label": value if label is None else label}


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


@pytest.mark.parametrize(("fields", "error"), [
    ({"edc_ects": _field("text", "lots")}, "customfield edc_ects: ECTS must be a number"),
    ({"edc_ects": _field("text", "500")}, "customfield edc_ects: ECTS credits must be more than 0"),
    ({"edc_iscedf": _field("text", "61")}, "customfield edc_iscedf: ISCED-F must be a 4-digit"),
    ({"edc_lang": _field("text", "en, français")}, "customfield edc_lang: 'français' is not a language"),
])
def test_bad_custom_fields_name_the_field(fields, error: str) -> None:
    with pytest.raises(CourseDataError) as caught:
        build_template({"id": 7, "fullname": "C", "summary": "", "lang": ""}, fields, [], DEFAULT_FIELDS, {})
    assert str(caught.value).startswith(error)


def test_marker_values() -> None:
    fields = {"edc_issue": _field("checkbox", "1", "Yes"), "off": _field("checkbox", "0", "No"),
              "text_no": _field("text", "Non"), "text_yes": _field("text", "oui"),
              "select": _field("select", "2", "Issue credentials")}
    assert [is_ticked(fields, name) for name in ("edc_issue", "off", "text_no", "text_yes", "select", "absent")] \
        == [True, False, False, True, True, False]


def test_state_round_trip_atomic_and_locked(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.json"
    state = State.load(path)
    state.course(2, now=100).learners["10"] = {"s": "sent", "id": "c1", "done": 160}
    state.course(3, now=100).backfill = True
    state.save()
    again = State.load(path)
    assert again.courses["2"].since == 100 and again.courses["2"].learners["10"]["id"] == "c1"
    assert again.courses["3"].backfill is True and again.courses["3"].count("sent") == 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # learner ids only, but no one else's business
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".state-")] == []
    path.write_text("{not json")
    with pytest.raises(StateError, match="state file .* is unreadable"):
        State.load(path)
    path.write_text('{"version": 2, "courses": {"2": {"since": 1, "learners": {"10": {"s": "lost"}}}}}')
    with pytest.raises(StateError, match="unknown status 'lost'"):
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
    template = build_template({"id": 42, "fullname": "Cours", "summary": "", "lang": "fr"},
                              {"edc_eqf": _field("select", "4", "Level 4")}, [], config.fields, config.defaults,
                              config.policy).template
    assert template["eqf_level"] == 4 and template["assessment"]["pass_score"] == 50
    assert template["languages"] == ["en"] and template["title"] == {"en": "Cours"}
    assert config.poll["page_size"] == 500


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
