"""Benchmark: how many ``GET /v2/databases/{id}`` per second the simulator serves.

Starts ``astra-operator simulate`` as a separate process (so server and load generator each get
a core), creates some databases, then hammers single-database GETs from concurrent clients.

    .venv/bin/python benchmarks/simulator_gets.py [--databases 200] [--seconds 5] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

_BODY = {
    "name": "bench",
    "cloudProvider": "GCP",
    "region": "us-east1",
    "tier": "serverless",
    "capacityUnits": 1,
}


def _start(ready: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "astra_operator.cli", "simulate", "--port", "0", "--quiet"]
    process = subprocess.Popen(
        [*argv, "--ready-file", str(ready)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20.0
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("the simulator did not start")
        time.sleep(0.05)
    return process


async def _create(session: aiohttp.ClientSession, url: str, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        async with session.post(f"{url}/v2/databases", json=_BODY) as response:
            assert response.status == 201, await response.text()
            ids.append(response.headers["Location"])
    return ids


async def _client(
    session: aiohttp.ClientSession, url: str, ids: list[str], until: float, offset: int
) -> tuple[int, int]:
    done = failed = 0
    i = offset
    while time.monotonic() < until:
        async with session.get(f"{url}/v2/databases/{ids[i % len(ids)]}") as response:
            await response.read()
            if response.status == 200:
                done += 1
            else:
                failed += 1
        i += 1
    return done, failed


async def _run(url: str, token: str, args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=args.clients)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        ids = await _create(session, url, args.databases)
        started = time.monotonic()
        until = started + args.seconds
        results = await asyncio.gather(
            *(_client(session, url, ids, until, n) for n in range(args.clients))
        )
        elapsed = time.monotonic() - started
    done = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    print(
        f"{done / elapsed:,.0f} GET /v2/databases/{{id}} per second "
        f"({done} in {elapsed:.1f} s, {args.clients} concurrent clients, "
        f"{args.databases} databases, {failed} non-200)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        process = _start(Path(tmp) / "ready.json")
        try:
            info = json.loads((Path(tmp) / "ready.json").read_text())
            asyncio.run(_run(info["url"], info["adminToken"], args))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
