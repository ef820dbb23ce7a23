"""Start and stop one etcd + kube-apiserver pair on loopback ports chosen at run time.

Two modes: *owned* (tests, ``dev``) where the processes die with the Python process that
started them, and *detached* (``controlplane up``) where they outlive it and a ``state.json``
in the plane's directory lets ``controlplane down`` find and stop them.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from astra_operator import config
from astra_operator.controlplane import binaries, kubeconfig, pki

STATE_FILE = "state.json"
FILES = (STATE_FILE, "admin.kubeconfig", "etcd.log", "kube-apiserver.log", "pki", "etcd-data")
"""Everything a plane writes in its directory: all that ``stop`` removes from a directory it
was given (never anything else there)."""
_PR_SET_PDEATHSIG = 1


class StartupError(RuntimeError):
    """A control plane component did not become ready."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclasses.dataclass
class ControlPlane:
    """A running (or stopped) etcd + kube-apiserver."""

    dir: Path
    apiserver_port: int
    etcd_port: int
    pids: dict[str, int]
    owns_dir: bool
    processes: list[subprocess.Popen[bytes]] = dataclasses.field(default_factory=list)

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (cluster-admin via client certificate)."""
        return self.dir / "admin.kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    def save(self) -> None:
        state = {
            "apiserverPort": self.apiserver_port,
            "etcdPort": self.etcd_port,
            "pids": self.pids,
            "ownsDir": self.owns_dir,
        }
        (self.dir / STATE_FILE).write_text(json.dumps(state, indent=2))

    @classmethod
    def load(cls, directory: Path) -> ControlPlane:
        state = json.loads((directory / STATE_FILE).read_text())
        return cls(
            directory, state["apiserverPort"], state["etcdPort"], state["pids"], state["ownsDir"]
        )

    def alive(self) -> bool:
        """Whether every process of this plane still runs."""
        return bool(self.pids) and all(_alive(pid) for pid in self.pids.values())

    def stop(self) -> None:
        """Stop both processes (apiserver first), then remove the plane's files: the whole
        directory if it made it, else only its own ``FILES`` (and the directory, once empty)."""
        for name in ("kube-apiserver", "etcd"):
            pid = self.pids.get(name)
            if pid:
                _terminate(pid, self._process(pid))
        self.pids.clear()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        for name in FILES:
            path = self.dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: someone else's files are there too
            self.dir.rmdir()

    def _process(self, pid: int) -> subprocess.Popen[bytes] | None:
        return next((p for p in self.processes if p.pid == pid), None)


def _terminate(pid: int, proc: subprocess.Popen[bytes] | None, grace: float = 15) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                return
        elif not _alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if proc is not None:
        proc.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours still "exists"; reap it if it is one.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        done = 0
    return done == 0


def _spawn(cmd: Sequence[str], log: Path, *, detach: bool) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            list(cmd),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=None if detach else _die_with_parent,
        )


def _wait_ready(
    url: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    timeout: float,
    context: ssl.SSLContext | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartupError(f"{log.stem} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise StartupError(f"{log.stem} not ready at {url} after {timeout:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _etcd_args(etcd: Path, data: Path, client_port: int, peer_port: int) -> list[str]:
    peer = f"http://127.0.0.1:{peer_port}"
    client = f"http://127.0.0.1:{client_port}"
    return [
        str(etcd),
        f"--data-dir={data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=default={peer}",
        "--name=default",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
        "--quota-backend-bytes=2147483648",
    ]


def _apiserver_args(binary: Path, keys: pki.Pki, port: int, etcd_port: int) -> list[str]:
    return [
        str(binary),
        f"--etcd-servers=http://127.0.0.1:{etcd_port}",
        f"--secure-port={port}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--cert-dir={keys.dir}",
        f"--tls-cert-file={keys.serving_cert}",
        f"--tls-private-key-file={keys.serving_key}",
        f"--client-ca-file={keys.client_ca}",
        "--authorization-mode=RBAC",
        f"--service-account-issuer=https://127.0.0.1:{port}",
        f"--service-account-key-file={keys.sa_public}",
        f"--service-account-signing-key-file={keys.sa_private}",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        "--disable-admission-plugins=ServiceAccount",
        "--endpoint-reconciler-type=none",
        "--profiling=false",
        "--v=1",
    ]


def _plane_dir(directory: Path | None) -> tuple[Path, bool]:
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        return directory.resolve(), False
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="astra-plane-", dir=base)), True


def start(
    directory: Path | None = None,
    *,
    detach: bool = False,
    paths: config.ToolPaths | None = None,
    timeout: float = 90,
) -> ControlPlane:
    """Build binaries if needed, then start etcd and kube-apiserver and wait until ready."""
    paths = paths or config.ToolPaths.from_env()
    etcd_bin = binaries.ensure(binaries.ETCD, paths)
    apiserver_bin = binaries.ensure(binaries.KUBE_APISERVER, paths)
    root, owns = _plane_dir(directory)
    plane = ControlPlane(root, free_port(), free_port(), {}, owns)
    try:
        _start_processes(plane, etcd_bin, apiserver_bin, detach=detach, timeout=timeout)
    except BaseException:
        plane.stop()
        raise
    return plane


def _start_processes(
    plane: ControlPlane, etcd_bin: Path, apiserver_bin: Path, *, detach: bool, timeout: float
) -> None:
    keys = pki.create(plane.dir / "pki")
    etcd_log, api_log = plane.dir / "etcd.log", plane.dir / "kube-apiserver.log"
    etcd = _spawn(
        _etcd_args(etcd_bin, plane.dir / "etcd-data", plane.etcd_port, free_port()),
        etcd_log,
        detach=detach,
    )
    plane.processes.append(etcd)
    plane.pids["etcd"] = etcd.pid
    plane.save()
    _wait_ready(f"http://127.0.0.1:{plane.etcd_port}/health", etcd, etcd_log, timeout)
    api = _spawn(
        _apiserver_args(apiserver_bin, keys, plane.apiserver_port, plane.etcd_port),
        api_log,
        detach=detach,
    )
    plane.processes.append(api)
    plane.pids["kube-apiserver"] = api.pid
    plane.save()
    context = ssl.create_default_context(cafile=str(keys.serving_ca))
    _wait_ready(f"{plane.server}/readyz", api, api_log, timeout, context)
    kubeconfig.admin(
        plane.kubeconfig, plane.server, keys.serving_ca, keys.admin_cert, keys.admin_key
    )
