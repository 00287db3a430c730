"""The console script is the registrar's entry point: it must start and list its commands."""
from click.testing import CliRunner

from bridge.cli import main


def test_help_lists_usage() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "European Digital Credentials" in result.output
