"""scripts/mlflow-server.sh: a real server, a refused second start, basic authentication."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.workflow import ROOT, environment

pytestmark = pytest.mark.slow

SCRIPT = ROOT / "scripts" / "mlflow-server.sh"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _script(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *args], env=environment(**env), capture_output=True, text=True, timeout=240
    )


def _create_experiment(port: int, name: str, user: str | None = None, password: str = "") -> int:
    """HTTP status of an experiment-creation request, anonymous unless ``user`` is given."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/create",
        data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"},
    )
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_second_start_is_refused_and_stop_ends_the_right_server(tmp_path: Path) -> None:
    port, first, second = _free_port(), tmp_path / "first", tmp_path / "second"
    up = _script("start", str(first), str(port))
    assert up.returncode == 0, up.stderr
    assert up.stdout.splitlines() == [f"export MLFLOW_TRACKING_URI=http://127.0.0.1:{port}"]
    pid = int((first / "server.pid").read_text())
    try:
        again = _script("start", str(first), str(_free_port()))
        assert again.returncode == 1
        assert again.stderr.splitlines() == [
            f"mlflow-server: already running from {first} (pid {pid}); stop it first"
        ]
        taken = _script("start", str(second), str(port))
        assert taken.returncode == 1
        assert taken.stderr.splitlines() == [
            f"mlflow-server: port {port} on 127.0.0.1 is in use; choose another port"
        ]
        assert int((first / "server.pid").read_text()) == pid
        assert not (second / "server.pid").exists()
        assert _create_experiment(port, "anonymous") == 200  # no authentication on 127.0.0.1
    finally:
        assert _script("stop", str(first)).returncode == 0
    assert not _alive(pid) and not (first / "server.pid").exists()
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))  # nothing listens there any more


def test_basic_authentication_refuses_anonymous_requests(tmp_path: Path) -> None:
    port, store = _free_port(), tmp_path / "server"
    up = _script("start", str(store), str(port), MLFLOW_AUTH="basic")
    assert up.returncode == 0, up.stderr + (store / "server.log").read_text()[-3000:]
    try:
        assert up.stdout.splitlines() == [
            f"export MLFLOW_TRACKING_URI=http://127.0.0.1:{port}",
            "export MLFLOW_TRACKING_USERNAME=admin",
            f'export MLFLOW_TRACKING_PASSWORD="$(cat {store}/admin-password)"',
        ]
        password = (store / "admin-password").read_text().strip()
        assert (store / "admin-password").stat().st_mode & 0o077 == 0  # yours only
        assert _create_experiment(port, "anonymous") == 401
        assert _create_experiment(port, "wrong", "admin", "guess") == 401
        assert _create_experiment(port, "admin's", "admin", password) == 200
    finally:
        _script("stop", str(store))
