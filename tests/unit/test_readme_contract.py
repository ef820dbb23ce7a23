"""The README's commands are a contract: CI runs exactly its test command."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _readme_commands() -> dict[str, str]:
    text = (REPO / "README.md").read_text()
    found = dict(re.findall(r"<!-- (setup-run|test) -->\s*```(?:bash|sh)\n(.+?)\n```", text, re.S))
    assert set(found) == {"setup-run", "test"}, "README must mark its setup-run and test commands"
    return found


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _readme_commands()["test"].strip()
    ci = (REPO / ".ci" / "run").read_text()
    assert test_command in ci, f"README's test command {test_command!r} is not what .ci/run runs"


def test_ci_installs_what_the_readme_setup_installs() -> None:
    setup = _readme_commands()["setup-run"]
    ci = (REPO / ".ci" / "run").read_text()
    assert "pip install" in setup
    assert "-e '.[test,lint]'" in ci
