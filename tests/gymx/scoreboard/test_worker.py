"""The verification worker's sandbox: no network, no programs started, and its time limit."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

import pytest

from gymx.scoreboard import verify

from .conftest import constant_policy


@pytest.fixture
def listener():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        yield server


def accepted(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except TimeoutError:
        return False
    connection.close()
    return True


def test_a_plugin_that_connects_fails_the_rerun_with_a_clear_error(tmp_path, monkeypatch, listener):
    # An installed env plugin (entry-point group gymx.envs) that phones home when the worker loads it.
    port = listener.getsockname()[1]
    (tmp_path / "phone_home.py").write_text(
        textwrap.dedent(f"""
        import socket

        def register_envs():
            socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
        """)
    )
    dist = tmp_path / "phone_home-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: phone-home\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[gymx.envs]\nphone_home = phone_home:register_envs\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    outcome = verify.run_worker("CartPole-v1", *constant_policy(), bytes(8), episodes=4)
    assert "error" in outcome
    assert "gymx: the verification worker may not use the network" in outcome["error"], outcome
    assert "socket.connect" in outcome["error"] or "socket.getaddrinfo" in outcome["error"]
    assert not accepted(listener)


@pytest.mark.parametrize(
    "attempt, refused",
    [
        ("socket.create_connection(('127.0.0.1', PORT), timeout=2)", "may not use the network"),
        ("socket.getaddrinfo('localhost', 80)", "may not use the network"),
        ("socket.socket(socket.AF_INET6, socket.SOCK_STREAM)", "may not use the network"),
        ("subprocess.run(['true'])", "may not start programs"),
        ("os.system('true')", "may not start programs"),
        ("os.fork()", "may not start programs"),
    ],
)
def test_the_sandbox_refuses(attempt, refused, listener):
    code = f"import os, socket, subprocess\nfrom gymx.scoreboard import verify\nverify.sandbox()\n{attempt.replace('PORT', str(listener.getsockname()[1]))}\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert f"SandboxError: gymx: the verification worker {refused}" in done.stderr.strip().splitlines()[-1]
    assert not accepted(listener)


def test_the_sandbox_allows_local_files_and_unix_sockets(tmp_path):
    code = f"from gymx.scoreboard import verify\nimport socket\nverify.sandbox()\nopen({str(tmp_path / 'x')!r}, 'w').write('ok')\nsocket.socketpair()\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x").read_text() == "ok"


def test_the_worker_keeps_its_time_limit():
    outcome = verify.run_worker("CartPole-v1", *constant_policy(), bytes(8), episodes=4, timeout_s=0.01)
    assert outcome == {"error": "the re-run took longer than 0.01 s"}
