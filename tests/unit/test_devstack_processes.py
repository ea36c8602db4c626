"""Child-process helpers: ports, spawn in an own session, terminate with a timeout."""

import os
import signal
import socket
from pathlib import Path

import pytest

from jangar.server.devstack import processes


def test_free_port_is_bindable_on_loopback():
    port = processes.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_free_port_never_repeats_and_stays_out_of_the_ephemeral_range():
    # An outgoing connection's source port comes from the ephemeral range; a port from it could be taken
    # between free_port and the child's bind.
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [processes.free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    assert all(port < low for port in ports)


def test_free_port_skips_a_port_in_use(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        candidates = iter([busy, busy + 1 if busy < 65535 else busy - 1])
        monkeypatch.setattr(processes.random, "randrange", lambda low, high: next(candidates))
        assert processes.free_port() != busy


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
