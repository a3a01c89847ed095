"""TLS for the client port: the server's SSL context, built from Redis's tls-* settings.

``--tls-port`` opens a second client listener that speaks RESP over TLS (1.2 or newer);
``--tls-auth-clients`` is Redis's: ``yes`` requires a client certificate signed by
``--tls-ca-cert-file``, ``optional`` checks one if offered, ``no`` asks for none.  The plain
port stays open (as in Redis, where ``port 0`` turns it off).
"""

from __future__ import annotations

import ssl
from typing import Any

__all__ = ["server_context"]

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
