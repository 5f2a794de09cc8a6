"""Shared test set-up and fixtures. Shared helpers live in :mod:`tests.helpers`, imported by
name."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The helpers assert on behalf of the tests (the adapter contract, check_timeouts): let pytest
# rewrite their asserts so that a failure shows the values compared.
pytest.register_assert_rewrite("tests.helpers")


@pytest.fixture
def small_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A 256 KiB tmpfs at ``tmp_path/disk``, or of the size given by indirect parametrisation
    (``"8m"``); skips where mounting is not allowed."""
    disk = tmp_path / "disk"
    disk.mkdir()
    size = getattr(request, "param", "256k")
    mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)]
    try:
        done = subprocess.run(mount, capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("no mount command here")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No connection leaves the machine: one to a non-loopback address raises, and proxies
    point nowhere (``pytestmark = pytest.mark.usefixtures("offline")`` in a suite's tests)."""
    connect = socket.socket.connect

    def local_only(sock: socket.socket, address: Any) -> Any:
        inet = sock.family in (socket.AF_INET, socket.AF_INET6)
        if inet and not ipaddress.ip_address(address[0]).is_loopback:
            raise OSError(f"test is offline: connection to {address!r} refused")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
