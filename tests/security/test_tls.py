"""TLS on the client port with certificates made by ``openssl`` for the test."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess

import pytest
import redis

from tests.integration.cluster import free_ports
from tests.security.procs import redis_cli

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def _run(*args: str, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
         "-subj", "/CN=raftis-test-ca", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"), ("client", "extendedKeyUsage=clientAuth")):
        _run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text(ext + "\n")
        _run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    # a client certificate from a CA the server does not trust
    _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key", "-out", "rogue.crt", "-days", "2",
         "-subj", "/CN=rogue", cwd=d)
    return d


def _refused(port: int, cafile, cert=None, key=None, use_tls: bool = True) -> bool:
    """True when the server refuses the connection (no answer to PING over it, not even -NOAUTH)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        if use_tls:
            ctx = ssl.create_default_context(cafile=str(cafile))
            if cert:
                ctx.load_cert_chain(str(cert), str(key))
            raw = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        raw.sendall(b"PING\r\n")
        return raw.recv(100)[:1] not in (b"+", b"-")
    except (ssl.SSLError, OSError):
        return True
    finally:
        raw.close()


def _tls_args(certs, port: int, auth_clients: str) -> list[str]:
    return ["--tls-port", str(port), "--tls-cert-file", str(certs / "server.crt"), "--tls-key-file",
            str(certs / "server.key"), "--tls-ca-cert-file", str(certs / "ca.crt"), "--tls-auth-clients", auth_clients]


def test_tls_with_client_certificates(node_factory, certs):
    (tls_port,) = free_ports(1)
    n = node_factory(_tls_args(certs, tls_port, "yes") + ["--requirepass", "pw"], password="pw")
    c = redis.Redis(port=tls_port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"), ssl_certfile=str(certs / "client.crt"),
                    ssl_keyfile=str(certs / "client.key"), password="pw", socket_timeout=10)
    assert c.set("k", "over tls") and c.get("k") == b"over tls"
    cli = ["--tls", "--cacert", str(certs / "ca.crt"), "--cert", str(certs / "client.crt"), "--key",
           str(certs / "client.key"), "-a", "pw", "--no-auth-warning"]
    assert redis_cli(tls_port, "GET", "k", extra=cli) == "over tls"
    # no certificate, or one from another CA: the handshake fails
    assert _refused(tls_port, certs / "ca.crt")
    assert _refused(tls_port, certs / "ca.crt", certs / "rogue.crt", certs / "rogue.key")
    assert not _refused(tls_port, certs / "ca.crt", certs / "client.crt", certs / "client.key")
    # plain text on the TLS port gets nothing; the plain port still works
    assert _refused(tls_port, None, use_tls=False)
    assert n.client().get("k") == b"over tls"


def test_tls_without_client_certificates(node_factory, certs):
    (tls_port,) = free_ports(1)
    node_factory(_tls_args(certs, tls_port, "no"))
    c = redis.Redis(port=tls_port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"), socket_timeout=10)
    assert c.set("a", "1") and c.get("a") == b"1"
    assert redis_cli(tls_port, "GET", "a", extra=["--tls", "--cacert", str(certs / "ca.crt")]) == "1"
    # a client that checks the certificate refuses a server signed by a CA it does not trust
    assert _refused(tls_port, certs / "rogue.crt")


def test_tls_optional_client_certificates(node_factory, certs):
    (tls_port,) = free_ports(1)
    node_factory(_tls_args(certs, tls_port, "optional"))
    plain = redis.Redis(port=tls_port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"), socket_timeout=10)
    assert plain.ping()
    with_cert = redis.Redis(port=tls_port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"),
                            ssl_certfile=str(certs / "client.crt"), ssl_keyfile=str(certs / "client.key"),
                            socket_timeout=10)
    assert with_cert.ping()
