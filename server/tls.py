"""TLS for the client port: the server's SSL context, built from Redis's tls-* settings.

``--tls-port`` opens a second client listener that speaks RESP over TLS (1.2 or newer);
``--tls-auth-clients`` is Redis's: ``yes`` requires a client certificate signed by
``--tls-ca-cert-file``, ``optional`` checks one if offered, ``no`` asks for none.  The plain
port stays open (as in Redis, where ``port 0`` turns it off).
"""

from __future__ import annotations

import ssl
from typing import Any

__all__ = ["peer_ssl_contexts", "server_context"]

_VERIFY = {"yes": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "no": ssl.CERT_NONE}


def server_context(cfg: Any) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cfg.tls_cert_file, cfg.tls_key_file)
        if cfg.tls_ca_cert_file:
            ctx.load_verify_locations(cafile=cfg.tls_ca_cert_file)
    except (OSError, ssl.SSLError) as e:
        raise SystemExit(f"cannot load the TLS certificate, key or CA file: {e}") from None
    ctx.verify_mode = _VERIFY[cfg.tls_auth_clients]
    return ctx


def peer_ssl_contexts(cfg: Any) -> dict[str, ssl.SSLContext]:
    """``server_ssl``/``client_ssl`` for the peer transport: mutual TLS where every node shows
    a certificate signed by the peer CA. Host names are not checked (nodes are often reached
    by address, and the CA is the cluster's own); the cluster secret still authenticates ids.
    Empty when peer TLS is not configured."""
    if not cfg.peer_tls_cert_file:
        return {}
    try:
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        for ctx in (server, client):
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(cfg.peer_tls_cert_file, cfg.peer_tls_key_file)
            ctx.load_verify_locations(cafile=cfg.peer_tls_ca_cert_file)
            ctx.verify_mode = ssl.CERT_REQUIRED
        client.check_hostname = False
        client.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as e:
        raise SystemExit(f"cannot load the peer TLS certificate, key or CA file: {e}") from None
    return {"server_ssl": server, "client_ssl": client}
