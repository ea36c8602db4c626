"""Child-process helpers: ports, spawn in an own session, terminate with a timeout."""

import os
import signal
import socket

import pytest

from jangar.server.devstack import processes


def test_free_port_is_bindable_on_loopback():
    port = processes.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_port_accepts_sees_a_listener():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert processes.port_accepts(port)
    assert not processes.port_accepts(port)


def test_spawned_child_has_its_own_session_and_stops(tmp_path):
    log = tmp_path / "child.log"
    proc = processes.spawn(["sh", "-c", "echo started; exec sleep 30"], log_path=log)
    try:
        processes.wait_until(lambda: "started" in log.read_text(), proc=proc, timeout=5, what="child")
        assert os.getsid(proc.pid) == proc.pid
    finally:
        code = processes.terminate(proc, sig=signal.SIGTERM, timeout=5)
    assert code == -signal.SIGTERM


def test_wait_until_reports_an_exited_child_with_its_log(tmp_path):
    log = tmp_path / "child.log"
    proc = processes.spawn(["sh", "-c", "echo boom; exit 3"], log_path=log)
    with pytest.raises(processes.ProcessStartError, match=r"(?s)exited with code 3.*boom"):
        processes.wait_until(lambda: False, proc=proc, timeout=5, what="child", log_path=log)
