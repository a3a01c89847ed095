"""Command-line options for authentication, TLS and client limits (``raftis server``).

``SECURITY_OPTIONS`` are click options the CLI adds to its own; ``security_settings(kw)``
turns their values into ``NodeConfig`` fields.  Names follow Redis's configuration
directives (``--requirepass``, ``--maxclients``, ``--tls-port`` ...).
"""

from __future__ import annotations

from typing import Any

import click

from server.limits import parse_output_limits, parse_size

__all__ = ["SECURITY_OPTIONS", "security_settings"]


def _size(ctx: Any, param: Any, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a size (e.g. 512mb, 1gb, 1048576)") from None


def _yes_no(value: str) -> bool:
    return value.lower() in ("yes", "1", "true", "on")


SECURITY_OPTIONS = [
    click.option("--requirepass", default="", envvar="RAFTIS_REQUIREPASS",
                 help="Password of the default user (AUTH <password>)."),
    click.option("--aclfile", default="", help="ACL users file (Redis syntax: user NAME on >pass ~keys +@cat)."),
    click.option("--protected-mode", type=click.Choice(["yes", "no"]), default="yes", show_default=True,
                 help="With no password and no ACL users, refuse clients that are not on loopback."),
    click.option("--enable-debug-command", type=click.Choice(["no", "yes", "local"]), default="no",
                 show_default=True, help="Whether clients may run DEBUG: never, always, or only from "
                 "loopback and unix-socket connections (as Redis's setting)."),
    click.option("--enable-module-command", type=click.Choice(["no", "yes", "local"]), default="no",
                 show_default=True, help="Whether clients may run MODULE LOAD/LOADEX/UNLOAD (Raftis loads "
                 "no Redis modules either way: with it on, they say why)."),
    click.option("--cluster-secret-file", default="", help="Read the cluster secret from this file "
                 "(owner-only permissions) instead of --cluster-secret."),
    click.option("--maxclients", type=click.IntRange(min=1), default=10000, show_default=True,
                 help="Client connections accepted at once."),
    click.option("--timeout", "client_timeout", type=click.IntRange(min=0), default=0, show_default=True,
                 help="Close a client idle for this many seconds (0: never)."),
    click.option("--request-timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
                 help="Close a client whose request stays incomplete this many seconds (0: never)."),
    click.option("--proto-max-bulk-len", callback=_size, default="512mb", show_default=True,
                 help="Largest bulk string a client may send."),
    click.option("--max-write-size", callback=_size, default="64mb", show_default=True,
                 help="Largest write a client may make: the arguments of a write command, or of a "
                 "transaction's commands at EXEC (each goes into the Raft log as one entry, and a node "
                 "copying and writing a huge entry stops sending heartbeats for a while)."),
    click.option("--client-query-buffer-limit", callback=_size, default="1gb", show_default=True,
                 help="Largest request buffer per client."),
    click.option("--client-output-buffer-limit", default="normal 0 0 0 pubsub 32mb 8mb 60",
                 show_default=True, help="Per class: <class> <hard> <soft> <soft-seconds>."),
    click.option("--maxmemory", callback=_size, default="0", show_default=True,
                 help="Resident memory above which commands that add data get -OOM (0: no limit)."),
    click.option("--tls-port", type=click.IntRange(0, 65535), default=0, help="Client port for TLS."),
    click.option("--tls-cert-file", default="", help="Server certificate (PEM)."),
    click.option("--tls-key-file", default="", help="Server private key (PEM)."),
    click.option("--tls-ca-cert-file", default="", help="CA certificates that sign client certificates."),
    click.option("--tls-auth-clients", type=click.Choice(["yes", "no", "optional"]), default="yes",
                 show_default=True, help="Whether TLS clients must present a certificate."),
    click.option("--peer-tls-cert-file", default="", help="Mutual TLS on the peer port: this node's "
                 "certificate (PEM); needs --peer-tls-key-file and --peer-tls-ca-cert-file."),
    click.option("--peer-tls-key-file", default="", help="This node's private key for the peer port."),
    click.option("--peer-tls-ca-cert-file", default="", help="CA that signs every node's peer certificate."),
]


def _read_secret(path: str) -> str:
    import os
    import stat

    try:
        st = os.stat(path)
        with open(path, encoding="utf-8") as f:
            secret = f.read().strip()
    except OSError as e:
        raise click.UsageError(f"cannot read --cluster-secret-file {path}: {e}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise click.UsageError(f"--cluster-secret-file {path} is readable by others (mode "
                               f"{stat.S_IMODE(st.st_mode):o}); chmod 600 it")
    if not secret:
        raise click.UsageError(f"--cluster-secret-file {path} is empty")
    return secret


def security_settings(kw: dict[str, Any]) -> dict[str, Any]:
    """NodeConfig fields from the options above (pops them from ``kw``)."""
    try:
        parse_output_limits(kw["client_output_buffer_limit"])
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--client-output-buffer-limit") from None
    out: dict[str, Any] = {
        "requirepass": kw.pop("requirepass"),
        "aclfile": kw.pop("aclfile"),
        "protected_mode": _yes_no(kw.pop("protected_mode")),
        "enable_debug_command": kw.pop("enable_debug_command"),
        "enable_module_command": kw.pop("enable_module_command"),
        "maxclients": kw.pop("maxclients"),
        "timeout": kw.pop("client_timeout"),
        "request_timeout": kw.pop("request_timeout"),
        "proto_max_bulk_len": kw.pop("proto_max_bulk_len"),
        "max_write_size": kw.pop("max_write_size"),
        "client_query_buffer_limit": kw.pop("client_query_buffer_limit"),
        "client_output_buffer_limit": kw.pop("client_output_buffer_limit"),
        "maxmemory": kw.pop("maxmemory"),
        "tls_port": kw.pop("tls_port"),
        "tls_cert_file": kw.pop("tls_cert_file"),
        "tls_key_file": kw.pop("tls_key_file"),
        "tls_ca_cert_file": kw.pop("tls_ca_cert_file"),
        "tls_auth_clients": kw.pop("tls_auth_clients"),
        "peer_tls_cert_file": kw.pop("peer_tls_cert_file"),
        "peer_tls_key_file": kw.pop("peer_tls_key_file"),
        "peer_tls_ca_cert_file": kw.pop("peer_tls_ca_cert_file"),
    }
    peer_tls = [out["peer_tls_cert_file"], out["peer_tls_key_file"], out["peer_tls_ca_cert_file"]]
    if any(peer_tls) and not all(peer_tls):
        raise click.UsageError("peer TLS needs --peer-tls-cert-file, --peer-tls-key-file and --peer-tls-ca-cert-file")
    secret_file = kw.pop("cluster_secret_file")
    if secret_file:
        if kw.get("cluster_secret"):
            raise click.UsageError("--cluster-secret and --cluster-secret-file cannot be used together")
        kw["cluster_secret"] = _read_secret(secret_file)
    if out["tls_port"] and not (out["tls_cert_file"] and out["tls_key_file"]):
        raise click.UsageError("--tls-port needs --tls-cert-file and --tls-key-file")
    if out["tls_port"] and out["tls_auth_clients"] != "no" and not out["tls_ca_cert_file"]:
        raise click.UsageError("--tls-auth-clients yes|optional needs --tls-ca-cert-file")
    return out
