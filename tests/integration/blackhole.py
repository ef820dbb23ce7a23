"""A loopback TCP proxy in front of the Kubernetes API that can black-hole its connections.

``Proxy.black_hole()`` freezes every connection open at that moment: bytes are still read from
both ends (so nobody's send blocks) but dropped, and neither end sees a reset or a close, as
with a stateful middlebox or NAT entry that silently stops forwarding. Connections accepted
afterwards are forwarded normally, so a client that gives up on a dead connection and opens a
new one recovers. Plain TCP: TLS passes through untouched, so the kubeconfig written by
``kubeconfig_via`` keeps the cluster's CA and credentials and only points ``server`` here.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

_CHUNK = 65536


class _Pipe:
    """One proxied connection: a client socket, an upstream socket, two pump threads."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client, self.upstream = client, upstream
        self.frozen = False
        self.round = 0
        """Which ``black_hole()`` call froze it (0: not frozen)."""
        self.closed = False
        self.unanswered = 0
        """Bytes the client sent since the freeze: a request left hanging."""

    def start(self) -> None:
        for src, dst, name in (
            (self.client, self.upstream, "up"),
            (self.upstream, self.client, "down"),
        ):
            pump = threading.Thread(
                target=self._pump, args=(src, dst), name=f"blackhole-{name}", daemon=True
            )
            pump.start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(_CHUNK)
            except OSError:
                data = b""
            if not data:
                self._ended(src)
                return
            if self.frozen:  # read and dropped: the other end hears nothing, not even a close
                if src is self.client:
                    self.unanswered += len(data)
                continue
            try:
                dst.sendall(data)
            except OSError:
                self._ended(src)
                return

    def _ended(self, side: socket.socket) -> None:
        """One end closed (or failed). Forwarded: pass the close on. Frozen: the client never
        learns of the server's close; the server does learn of the client's (no leak)."""
        if not self.frozen or side is self.client:
            self.close()
        else:
            _close(self.upstream)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            _close(self.client)
            _close(self.upstream)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class Proxy:
    """Forward 127.0.0.1:<port> to ``upstream``; ``black_hole()`` freezes what is open now."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._pipes: list[_Pipe] = []
        self._lock = threading.Lock()
        self._stopped = False
        self._round = 0
        self.accepted = 0
        threading.Thread(target=self._accept, name="blackhole-accept", daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            pipe = _Pipe(client, upstream)
            with self._lock:
                if self._stopped:
                    pipe.close()
                    return
                self._pipes = [p for p in self._pipes if not p.closed]
                self._pipes.append(pipe)
                self.accepted += 1
            pipe.start()

    def black_hole(self) -> int:
        """Freeze every open connection not frozen yet; returns how many it froze."""
        with self._lock:
            self._round += 1
            fresh = [p for p in self._pipes if not p.closed and not p.frozen]
            for pipe in fresh:
                pipe.round, pipe.frozen = self._round, True
        return len(fresh)

    def hanging(self) -> int:
        """Connections frozen by the last ``black_hole()``, still open, on which the client
        has sent something since: requests waiting for an answer that will never come."""
        with self._lock:
            return sum(
                1
                for p in self._pipes
                if p.round == self._round and p.frozen and not p.closed and p.unanswered
            )

    def close(self) -> None:
        with self._lock:
            self._stopped = True
            pipes, self._pipes = self._pipes, []
        self._listener.close()
        for pipe in pipes:
            pipe.close()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _current_cluster(document: dict[str, Any]) -> dict[str, Any]:
    """The ``cluster`` mapping of the current context (the first cluster when unset); live."""
    contexts = {c["name"]: c["context"] for c in document.get("contexts") or []}
    wanted = contexts.get(document.get("current-context", ""), {}).get("cluster")
    entries = document["clusters"]
    entry = next((e for e in entries if e["name"] == wanted), entries[0])
    cluster: dict[str, Any] = entry["cluster"]
    return cluster


def server_host(kubeconfig: Path) -> str:
    """The API server's host name (or IP) in a kubeconfig."""
    server = _current_cluster(yaml.safe_load(kubeconfig.read_text()))["server"]
    return urllib.parse.urlsplit(server).hostname or ""


def upstream_of(kubeconfig: Path) -> tuple[str, int]:
    """The API server's (host, port) in a kubeconfig."""
    server = urllib.parse.urlsplit(
        _current_cluster(yaml.safe_load(kubeconfig.read_text()))["server"]
    )
    if server.hostname is None:
        raise ValueError(f"no host in the server URL of {kubeconfig}")
    return server.hostname, server.port or 443


def kubeconfig_via(source: Path, proxy: Proxy, dest: Path) -> Path:
    """A copy of ``source`` whose current cluster is reached through ``proxy``.

    The local control plane's serving certificate covers 127.0.0.1; for another cluster the
    kubernetes client checks the certificate against the original host (``tls-server-name``)."""
    document = yaml.safe_load(source.read_text())
    cluster = _current_cluster(document)
    host = urllib.parse.urlsplit(cluster["server"]).hostname or ""
    if host != "127.0.0.1":
        cluster.setdefault("tls-server-name", host)
    cluster["server"] = proxy.url
    dest.write_text(yaml.safe_dump(document, sort_keys=False))
    dest.chmod(0o600)
    return dest
