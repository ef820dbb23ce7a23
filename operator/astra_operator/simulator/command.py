"""``astra-operator simulate``: run the DevOps API v2 simulator in the foreground for humans."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import signal
import sys
from pathlib import Path

from astra_operator.simulator import ids
from astra_operator.simulator.server import Simulator
from astra_operator.simulator.timing import Timing

DEFAULT_PORT = 8765
_CREATE_EXAMPLE = (
    '{"name":"demo","cloudProvider":"GCP","region":"us-east1","tier":"serverless",'
    '"capacityUnits":1}'
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="astra-operator simulate",
        description="Serve a local simulator of the Astra DevOps API v2 (plus a /_sim admin API). "
        "Databases move through PENDING, INITIALIZING, ACTIVE ... on a clock; nothing is real.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port (default: %(default)s; 0 = any free)"
    )
    parser.add_argument(
        "--timing",
        default="fast",
        help="fast (sub-second steps), realistic (minutes, like Astra) or a number that scales "
        "the realistic durations, e.g. 0.1 (default: %(default)s)",
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="AstraCS:...",
        help="also accept this token as an organization administrator (repeatable)",
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        help='once listening, write {"url", "adminToken", "pid"} as JSON to this file',
    )
    parser.add_argument("--seed", type=int, help="make ids and the admin token reproducible")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser


def _banner(sim: Simulator) -> str:
    return "\n".join(
        [
            f"Astra DevOps API v2 simulator listening on {sim.url} "
            f"(timing: {sim.world.timing.label})",
            f"Admin token (Organization Administrator): {sim.admin_token}",
            "",
            "Try it:",
            f"  export URL={sim.url}",
            f"  export TOKEN={sim.admin_token}",
            '  curl -H "Authorization: Bearer $TOKEN" $URL/v2/databases',
            '  curl -i -X POST -H "Authorization: Bearer $TOKEN" '
            f"-H 'Content-Type: application/json' -d '{_CREATE_EXAMPLE}' $URL/v2/databases",
            "  curl $URL/_sim/state     # admin API, no token (docs/simulator-admin-api.md)",
            "",
            "Press Ctrl-C to stop.",
        ]
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _write_ready(path: Path, sim: Simulator) -> None:
    """Write the ready file atomically and readable only by us (it holds the admin token)."""
    body = json.dumps({"url": sim.url, "adminToken": sim.admin_token, "pid": os.getpid()})
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(body + "\n")
    partial.replace(path)


async def _serve(args: argparse.Namespace) -> int:
    sim = Simulator(
        timing=args.timing,
        host=args.host,
        port=args.port,
        tokens=args.token,
        seed=args.seed,
        access_log=not args.quiet,
    )
    try:
        await sim.start()
    except OSError as exc:
        print(
            f"astra-operator simulate: cannot listen on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        print(_banner(sim), flush=True)
        if not _is_loopback(args.host):
            print(
                f"WARNING: the /_sim admin API has no authentication; anyone who can reach "
                f"{args.host} can control this simulator",
                file=sys.stderr,
            )
        if args.ready_file is not None:
            _write_ready(args.ready_file, sim)
        await stop.wait()
    finally:
        await sim.stop()
        if args.ready_file is not None:
            with contextlib.suppress(OSError):
                args.ready_file.unlink()
    print("simulator stopped", file=sys.stderr)
    return 0


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    try:
        Timing.parse(args.timing)
    except ValueError as exc:
        parser.error(str(exc))
    for token in args.token:
        if ids.client_id_of(token) is None:
            parser.error("--token must look like AstraCS:<clientId>:<hex>")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")


def main(argv: list[str]) -> int:
    """Entry point for ``astra-operator simulate ...``; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130
