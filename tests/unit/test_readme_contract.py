"""The README's commands are a contract: CI sets up as the README does and runs its test command.

The commands are read from the README (the code blocks after ``<!-- setup-run -->`` and
``<!-- test -->``) and from ``.ci/run`` (parsed as shell words, comments dropped), so editing
one without the other fails here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
Command = tuple[str, ...]
# pip options that change how much it prints, not what it installs.
_QUIET = {"-q", "--quiet", "-v", "--verbose", "--no-input", "--disable-pip-version-check"}


def readme_commands(text: str) -> dict[str, list[Command]]:
    """The marked blocks of the README, each as its ``&&``-separated commands."""
    blocks = re.findall(r"<!-- (setup-run|test) -->\s*```(?:bash|sh)\n(.+?)\n```", text, re.S)
    found = {marker: commands(body) for marker, body in blocks}
    assert sorted(found) == ["setup-run", "test"], "README must mark a setup-run and a test block"
    assert len(blocks) == 2, "README marks a block twice"
    return found


def commands(script: str) -> list[Command]:
    """The simple commands of a shell script: comments dropped, ``&&`` and lines split."""
    out: list[Command] = []
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        current: list[str] = []
        for word in [*words, "&&"]:
            if word in ("&&", ";"):
                if current:
                    out.append(tuple(current))
                current = []
            else:
                current.append(word)
    return out


def pip_install(command: Command) -> tuple[str, Command] | None:
    """``(venv, what)`` for ``VENV/bin/pip install ...`` or ``VENV/bin/python -m pip install``."""
    exe, *rest = command
    if Path(exe).name == "pip" and rest[:1] == ["install"]:
        args = rest[1:]
    elif Path(exe).name.startswith("python") and rest[:3] == ["-m", "pip", "install"]:
        args = rest[3:]
    else:
        return None
    return str(Path(exe).parent.parent), tuple(a for a in args if a not in _QUIET)


def check(readme: str, ci: str) -> None:
    """Fail unless ``ci`` creates the README's venv, installs what it installs, runs its tests."""
    marked = readme_commands(readme)
    ci_commands = commands(ci)
    ci_installs = [i for i in map(pip_install, ci_commands) if i]
    setup = marked["setup-run"]
    installs = [i for i in map(pip_install, setup) if i]
    assert installs, f"the README's setup-run block installs nothing: {setup}"
    for command in setup:
        if pip_install(command):
            assert pip_install(command) in ci_installs, (
                f"the README installs {shlex.join(command)!r}; .ci/run installs "
                f"{[shlex.join(i[1]) for i in ci_installs]}"
            )
        elif "venv" in command:
            assert command in ci_commands, f".ci/run does not run {shlex.join(command)!r}"
    [test] = marked["test"]
    assert ci_commands.count(test) == 1, (
        f".ci/run must run the README's test command {shlex.join(test)!r} exactly once, as is"
    )


def _read(name: str) -> str:
    return (REPO / name).read_text()


def test_ci_sets_up_and_tests_as_the_readme_says() -> None:
    check(_read("README.md"), _read(".ci/run"))


def test_the_setup_block_is_the_one_a_new_user_runs() -> None:
    """The demo command comes last: the setup before it is what CI checks."""
    setup = readme_commands(_read("README.md"))["setup-run"]
    assert setup[-1][-1] == "dev"
    assert setup[0][:3] == ("python3", "-m", "venv")


# The check itself: each edit of one file without the other must fail it.
_CI_EDITS = {
    "other test command": (".venv/bin/pytest\n", ".venv/bin/pytest tests/unit\n"),
    "test command commented out": (".venv/bin/pytest\n", "# .venv/bin/pytest\n"),
    "other extras": ("-e '.[test,lint]'", "-e '.[test]'"),
    "not editable": ("-e '.[test,lint]'", "'.[test,lint]'"),
    "other venv": ("python3 -m venv .venv", "python3 -m venv venv"),
}


@pytest.mark.parametrize(("old", "new"), list(_CI_EDITS.values()), ids=list(_CI_EDITS))
def test_check_fails_when_only_ci_changes(old: str, new: str) -> None:
    ci = _read(".ci/run")
    assert old in ci, f"{old!r} is no longer in .ci/run: update this test"
    with pytest.raises(AssertionError):
        check(_read("README.md"), ci.replace(old, new))


_README_EDITS = {
    "other test command": ("```bash\n.venv/bin/pytest\n```", "```bash\n.venv/bin/pytest -x\n```"),
    "other extras": ("-e '.[test,lint]'", "-e '.[test,lint,docs]'"),
    "test block unmarked": ("<!-- test -->", ""),
}


@pytest.mark.parametrize(("old", "new"), list(_README_EDITS.values()), ids=list(_README_EDITS))
def test_check_fails_when_only_the_readme_changes(old: str, new: str) -> None:
    readme = _read("README.md")
    assert old in readme, f"{old!r} is no longer in README.md: update this test"
    with pytest.raises(AssertionError):
        check(readme.replace(old, new), _read(".ci/run"))
