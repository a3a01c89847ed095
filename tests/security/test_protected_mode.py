"""Protected mode: with no password and no ACL users, only loopback clients get in.

The remote side runs in a network namespace made for the test (a veth pair with 10.x
addresses that exist only there); where namespaces cannot be made, only the decision
itself is tested.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from server.config import NodeConfig
from server.limits import DENIED, ClientGuard, is_loopback


class _Node:
    sessions: dict = {}


def test_loopback_decision():
    assert is_loopback(("127.0.0.1", 5)) and is_loopback(("127.9.9.9", 5)) and is_loopback(("::1", 5, 0, 0))
    assert is_loopback(("::ffff:127.0.0.1", 5, 0, 0))
    assert is_loopback("/tmp/raftis.sock")  # a unix socket
    assert not is_loopback(("10.0.0.2", 5)) and not is_loopback(("192.168.1.4", 5))
    assert not is_loopback(("::ffff:10.0.0.2", 5, 0, 0)) and not is_loopback(("fe80::1%eth0", 5, 0, 0))


def test_protected_only_without_password_and_users(tmp_path):
    assert ClientGuard(_Node(), NodeConfig()).protected
    assert not ClientGuard(_Node(), NodeConfig(protected_mode=False)).protected
    assert not ClientGuard(_Node(), NodeConfig(requirepass="x")).protected
    acl = tmp_path / "u.acl"
    acl.write_text("user bob on >pw allkeys allcommands\n")
    assert not ClientGuard(_Node(), NodeConfig(aclfile=str(acl))).protected


@pytest.fixture
def netns():
    """A namespace ``ns`` whose 10.x address reaches the host's 10.x address over a veth."""
    if os.geteuid() != 0:
        pytest.skip("needs root for ip netns")
    tag = f"{os.getpid() % 100000}"
    ns, host_if, ns_if = f"raftis{tag}", f"rfh{tag}", f"rfn{tag}"
    octet = os.getpid() % 200 + 20
    host_ip, ns_ip = f"10.213.{octet}.1", f"10.213.{octet}.2"
    cmds = [
        ["ip", "netns", "add", ns],
        ["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if],
        ["ip", "link", "set", ns_if, "netns", ns],
        ["ip", "addr", "add", f"{host_ip}/24", "dev", host_if],
        ["ip", "link", "set", host_if, "up"],
        ["ip", "netns", "exec", ns, "ip", "addr", "add", f"{ns_ip}/24", "dev", ns_if],
        ["ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up"],
        ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
    ]
    try:
        for c in cmds:
            subprocess.run(c, check=True, capture_output=True, timeout=10)
    except (subprocess.CalledProcessError, FileNotFoundError, subprocess.TimeoutExpired) as e:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        pytest.skip(f"cannot make a network namespace: {e}")
    yield ns, host_ip
    subprocess.run(["ip", "link", "del", host_if], capture_output=True)
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _remote(ns: str, host: str, port: int, payload: bytes = b"PING\r\n") -> bytes:
    code = (
        "import socket,sys\n"
        f"s=socket.create_connection(({host!r},{port}),timeout=5)\n"
        f"s.sendall({payload!r})\n"
        "d=b''\n"
        "while True:\n"
        "    c=s.recv(65536)\n"
        "    if not c: break\n"
        "    d+=c\n"
        "    if d.endswith(b'\\r\\n') and not d.startswith(b'-DENIED'): break\n"
        "sys.stdout.buffer.write(d)\n"
    )
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], capture_output=True, timeout=20)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_remote_clients_denied_in_protected_mode(netns, node_factory):
    ns, host_ip = netns
    n = node_factory(["--bind", "0.0.0.0"])
    assert _remote(ns, host_ip, n.port) == DENIED  # the whole text, then the server closes
    assert n.client().ping()  # loopback still works


def test_remote_clients_allowed_with_a_password_or_protected_mode_off(netns, node_factory):
    ns, host_ip = netns
    n = node_factory(["--bind", "0.0.0.0", "--requirepass", "pw"], password="pw")
    assert _remote(ns, host_ip, n.port) == b"-NOAUTH Authentication required.\r\n"
    assert _remote(ns, host_ip, n.port, b"AUTH pw\r\nPING\r\n") == b"+OK\r\n+PONG\r\n"
    m = node_factory(["--bind", "0.0.0.0", "--protected-mode", "no"])
    assert _remote(ns, host_ip, m.port) == b"+PONG\r\n"
