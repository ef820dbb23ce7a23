"""The build path of ``controlplane.binaries`` with a fake ``go`` on PATH (no real build).

The real build runs once per machine, before most users ever run the tests, so its resource
handling is only exercised here: a pipe left open is a ResourceWarning, which the suite turns
into an error on the first run on a fresh machine.
"""

from __future__ import annotations

import gc
import stat
import warnings
from pathlib import Path

import pytest

from astra_operator import config
from astra_operator.controlplane import binaries

# Writes what `go build -v` writes to stderr (one package per line), then obeys $FAKE_GO_EXIT;
# on success it creates the file named after -o, as go does.
FAKE_GO = """#!/bin/sh
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then out="$2"; shift; fi
  shift
done
echo "example.com/a" >&2
echo "example.com/b: compile failed here" >&2
if [ "$FAKE_GO_EXIT" = 0 ]; then printf '#!/bin/sh\\n' > "$out"; chmod +x "$out"; fi
exit "$FAKE_GO_EXIT"
"""


@pytest.fixture
def fake_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> config.ToolPaths:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    go = bin_dir / "go"
    go.write_text(FAKE_GO)
    go.chmod(go.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return config.ToolPaths(tmp_path / "cache", None, None, tmp_path / "run")


def _resource_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    gc.collect()  # a leaked pipe warns when its object is finalized
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_failed_build_reports_the_tail_and_leaks_nothing(
    fake_go: config.ToolPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GO_EXIT", "1")
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="building etcd v") as info:
            binaries.ensure(binaries.ETCD, fake_go, progress=messages.append)
        assert "example.com/b: compile failed here" in str(info.value)
        del info  # its traceback holds the build's frame
        leaked = _resource_warnings(caught)
    assert leaked == []
    target = binaries.cached_path(binaries.ETCD, fake_go)
    assert not target.exists()
    assert not target.with_suffix(".partial").exists()
    assert messages[0].startswith("building etcd")


def test_successful_build_installs_the_binary_and_leaks_nothing(
    fake_go: config.ToolPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GO_EXIT", "0")
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = binaries.ensure(binaries.HELM, fake_go, progress=messages.append)
        leaked = _resource_warnings(caught)
    assert leaked == []
    assert built == binaries.cached_path(binaries.HELM, fake_go)
    assert built.is_file()
    assert messages[-1].startswith("built helm")
    assert binaries.find(binaries.HELM, fake_go) == built  # the next call finds, not builds
