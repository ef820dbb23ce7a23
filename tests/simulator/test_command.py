"""``astra-operator simulate`` as a new user runs it: a real process, its banner and ready file."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.simulator.helpers import SERVERLESS


def _wait_for(path: Path, process: subprocess.Popen[str], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"simulator exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError("the ready file never appeared")
        time.sleep(0.02)


def test_simulate_serves_a_database_lifecycle(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    out = tmp_path / "stdout.txt"
    argv = [sys.executable, "-m", "astra_operator.cli", "simulate", "--port", "0"]
    argv += ["--ready-file", str(ready), "--timing", "fast"]
    with out.open("w") as stdout:
        process = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(ready, process)
        info = json.loads(ready.read_text())
        assert info["pid"] == process.pid
        assert ready.stat().st_mode & 0o077 == 0  # it holds the admin token
        banner = out.read_text()
        assert info["url"] in banner
        assert info["adminToken"] in banner
        assert 'curl -H "Authorization: Bearer $TOKEN" $URL/v2/databases' in banner

        headers = {"Authorization": f"Bearer {info['adminToken']}"}
        with httpx.Client(base_url=info["url"], headers=headers, timeout=5.0) as api:
            created = api.post("/v2/databases", json=SERVERLESS)
            assert created.status_code == 201
            db_id = created.headers["Location"]
            assert api.get(f"/v2/databases/{db_id}").json()["info"]["name"] == "db"
            deadline = time.monotonic() + 5.0
            while api.get(f"/v2/databases/{db_id}").json()["status"] != "ACTIVE":
                assert time.monotonic() < deadline
                time.sleep(0.02)
            assert api.post(f"/v2/databases/{db_id}/terminate").status_code == 202
            assert api.get(f"/v2/databases/{db_id}").json()["status"] == "TERMINATING"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert not ready.exists()
    assert '"POST /v2/databases HTTP/1.1" 201' in stderr  # the access log
    assert info["adminToken"] not in stderr  # never logged


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timing", "slowly"], "timing"),
        (["--token", "hunter2"], "AstraCS"),
        (["--port", "70000"], "port"),
    ],
)
def test_simulate_rejects_bad_arguments(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "astra_operator.cli", "simulate", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
