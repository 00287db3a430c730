"""``edc-bridge users``: the first admin of a fresh installation, and the sign-in with its password."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bridge.cli import main
from tests.console.conftest import Browser, make_sidecar


def test_users_add_prints_a_first_password_that_signs_in(tmp_path: Path, dev_seal_p12: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {"EDC_DATA_DIR": str(tmp_path / "var"), "EDC_DATABASE_URL": url}
    runner = CliRunner()
    added = runner.invoke(main, ["users", "add", "root", "--name", "First Admin", "--role", "admin",
                                 "--course", "moodle-main/42"], env=env)
    assert added.exit_code == 0, added.output
    password = added.output.strip().splitlines()[-1]
    assert "admin, course_team moodle-main/42" in added.output and len(password) >= 20
    assert runner.invoke(main, ["users", "add", "ROOT", "--role", "viewer"], env=env).exit_code != 0  # names are unique
    assert runner.invoke(main, ["users", "add", "x", "--course", "no-slash"], env=env).exit_code != 0
    listed = runner.invoke(main, ["users", "list"], env=env)
    assert listed.output.splitlines() == ["root\tadmin,course_team:moodle-main/42\tactive"]
    assert password not in listed.output
    car = make_sidecar(tmp_path, url, dev_seal_p12)
    browser = Browser(car.app.test_client())
    assert browser.login("root", password).status_code == 302
    assert 'id="nav-users"' in browser.get("/console/").get_data(as_text=True)
