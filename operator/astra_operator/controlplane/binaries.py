"""Find or build kube-apiserver, etcd and helm, cached by version outside the work tree.

Versions come from the wrapper modules in ``tests/controlplane/gomod/<tool>/go.mod`` (committed
with their go.sum). Binaries are built once per version with ``go build`` through the module
proxy into ``$XDG_CACHE_HOME/astra-operator/testbin/<tool>-<version>/``. Users who already have
envtest's binaries can point ``KUBEBUILDER_ASSETS`` at them instead.
"""

from __future__ import annotations

import dataclasses
import datetime
import fcntl
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from astra_operator import config

_REPO_ROOT = Path(__file__).resolve().parents[3]
GOMOD_DIR = _REPO_ROOT / "tests" / "controlplane" / "gomod"

Progress = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Tool:
    """One binary built from a wrapper Go module."""

    name: str
    module: str
    package: str

    def version(self, gomod_dir: Path = GOMOD_DIR) -> str:
        """The version the wrapper module pins, e.g. ``v1.35.4``."""
        text = (gomod_dir / self.name / "go.mod").read_text()
        match = re.search(rf"^\s*(?:require\s+)?{re.escape(self.module)}\s+(v\S+)", text, re.M)
        if not match:
            raise RuntimeError(f"{self.module} is not required in {gomod_dir / self.name}/go.mod")
        return match.group(1)

    def ldflags(self, version: str) -> str:
        """Linker flags that stamp the version the way upstream release builds do."""
        flags = ["-s", "-w"]
        if self.name == "kube-apiserver":
            minor = version.split(".")[1]
            date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
                flags += [
                    f"-X {pkg}.gitVersion={version}",
                    f"-X {pkg}.gitMajor=1",
                    f"-X {pkg}.gitMinor={minor}",
                    f"-X {pkg}.gitTreeState=clean",
                    f"-X {pkg}.buildDate={date}",
                ]
        elif self.name == "helm":
            flags += [
                f"-X helm.sh/helm/v3/internal/version.version={version}",
                "-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
            ]
            for pkg in ("helm.sh/helm/v3/pkg/chartutil", "helm.sh/helm/v3/pkg/lint/rules"):
                flags += [f"-X {pkg}.k8sVersionMajor=1", f"-X {pkg}.k8sVersionMinor=35"]
        return " ".join(flags)


KUBE_APISERVER = Tool("kube-apiserver", "k8s.io/kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver")
ETCD = Tool("etcd", "go.etcd.io/etcd/server/v3", "go.etcd.io/etcd/server/v3")
HELM = Tool("helm", "helm.sh/helm/v3", "helm.sh/helm/v3/cmd/helm")
TOOLS = {t.name: t for t in (KUBE_APISERVER, ETCD, HELM)}


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cached_path(tool: Tool, paths: config.ToolPaths) -> Path:
    """Where the built binary for the pinned version lives (or will live)."""
    version = tool.version()
    return paths.cache_dir / "testbin" / f"{tool.name}-{version}" / tool.name


def find(tool: Tool, paths: config.ToolPaths) -> Path | None:
    """An existing binary: ``KUBEBUILDER_ASSETS`` first (not for helm), then the cache."""
    if paths.kubebuilder_assets and tool.name != "helm":
        candidate = paths.kubebuilder_assets / tool.name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    cached = cached_path(tool, paths)
    return cached if cached.is_file() else None


def ensure(tool: Tool, paths: config.ToolPaths, progress: Progress = _stderr) -> Path:
    """Return the binary, building it first if neither the cache nor envtest has it."""
    found = find(tool, paths)
    if found:
        return found
    target = cached_path(tool, paths)
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it right now
        if not target.is_file():
            _build(tool, target, progress)
    return target


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="-mod=readonly -buildvcs=false")
    return env


def _build(tool: Tool, target: Path, progress: Progress) -> None:
    go = shutil.which("go")
    if not go:
        raise RuntimeError(
            f"{tool.name} is not built yet and Go is not installed: install Go >= 1.25, or set "
            "KUBEBUILDER_ASSETS to a directory with kube-apiserver and etcd (setup-envtest), "
            "or ASTRA_TEST_KUBECONFIG to use an existing cluster."
        )
    version = tool.version()
    progress(
        f"building {tool.name} {version} from Go modules into {target.parent} "
        "(once per version; kube-apiserver takes ~10-15 min on 2 cores)"
    )
    partial = target.with_suffix(".partial")
    cmd = [
        go,
        "build",
        "-v",
        "-trimpath",
        "-ldflags",
        tool.ldflags(version),
        "-o",
        str(partial),
        tool.package,
    ]
    started = time.monotonic()
    # The context manager closes the stderr pipe and reaps go on every path (an unclosed pipe
    # is a ResourceWarning, an error under the test suite's warning filters).
    with subprocess.Popen(
        cmd, cwd=GOMOD_DIR / tool.name, env=_go_env(), stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            tail = _follow(proc, tool.name, started, progress)
        except BaseException:
            proc.kill()
            partial.unlink(missing_ok=True)
            raise
        returncode = proc.wait()
    if returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"building {tool.name} {version} failed:\n" + "\n".join(tail))
    partial.rename(target)
    progress(f"built {tool.name} {version} in {time.monotonic() - started:.0f} s")


def _follow(
    proc: subprocess.Popen[str], name: str, started: float, progress: Progress
) -> list[str]:
    """Count packages as ``go build -v`` names them; report every 20 s; keep the last lines."""
    assert proc.stderr is not None
    tail: list[str] = []
    count = 0
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(20):
            progress(f"  {name}: {count} packages compiled, {time.monotonic() - started:.0f} s")

    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    try:
        for line in proc.stderr:
            count += 1
            tail = [*tail[-40:], line.rstrip()]
    finally:
        stop.set()
        thread.join()
    return tail


def main(argv: list[str]) -> int:
    """``astra-operator controlplane build [TOOL...]``: build (or find) the binaries."""
    paths = config.ToolPaths.from_env()
    names = argv or list(TOOLS)
    for name in names:
        if name not in TOOLS:
            _stderr(f"unknown tool {name!r}; choose from {', '.join(TOOLS)}")
            return 2
        print(ensure(TOOLS[name], paths))
    return 0
