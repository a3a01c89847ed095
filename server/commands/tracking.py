"""CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR and CLIENT TRACKINGINFO: client-side
caching (server.tracking does the work). All CONN, on the node the client is connected to."""

from __future__ import annotations

from resp.types import OK, ErrorReply, Map
from server import errors
from server.commands.arguments import parse_int
from server.commands.registry import subcommand
from server.session import Session
from server.tracking import ClientTracking

_FLAGS = "noscript loading stale"


def _tracking(session: Session):
    tracking = getattr(session.server, "tracking", None)
    if tracking is None:
        raise ErrorReply("ERR client tracking is not available here")
    return tracking


@subcommand("client", "tracking", -3, _FLAGS, group="connection", since="6.0.0",
            summary="Enable or disable server assisted client side caching support")
def client_tracking(session: Session, argv: list[bytes]):
    tracking = _tracking(session)
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        more = j + 1 < len(argv)
        if opt == b"redirect" and more:
            j += 1
            if redirect:
                return ErrorReply("ERR A client can only redirect to a single other client")
            redirect = parse_int(argv[j])
            if redirect not in session.server.sessions:
                return ErrorReply("ERR The client ID you want redirect to does not exist")
        elif opt == b"bcast":
            bcast = True
        elif opt == b"optin":
            optin = True
        elif opt == b"optout":
            optout = True
        elif opt == b"noloop":
            noloop = True
        elif opt == b"prefix" and more:
            j += 1
            prefixes.append(argv[j])
        else:
            return errors.SYNTAX
        j += 1
    mode = argv[2].lower()
    if mode == b"off":
        tracking.disable(session)
        return OK
    if mode != b"on":
        return errors.SYNTAX
    old = session.tracking
    if prefixes and not bcast:
        return ErrorReply("ERR PREFIX option requires BCAST mode to be enabled")
    if old is not None and old.bcast != bcast:
        return ErrorReply("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and "
                          "then re-enabling it with a different mode.")
    if bcast and (optin or optout):
        return ErrorReply("ERR OPTIN and OPTOUT are not compatible with BCAST")
    if optin and optout:
        return ErrorReply("ERR You can't specify both OPTIN mode and OPTOUT mode")
    if old is not None and (optin and old.optout or optout and old.optin):
        return ErrorReply("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and "
                          "then re-enabling it with a different mode.")
    kept = list(old.prefixes) if old is not None and bcast else []
    if bcast:
        for i, p in enumerate(prefixes):
            for q in kept:
                if q.startswith(p) or p.startswith(q):
                    return ErrorReply(f"ERR Prefix '{_text(p)}' overlaps with an existing prefix '{_text(q)}'. "
                                      "Prefixes for a single client must not overlap.")
            for q in prefixes[i + 1:]:
                if q.startswith(p) or p.startswith(q):
                    return ErrorReply(f"ERR Prefix '{_text(p)}' overlaps with another provided prefix "
                                      f"'{_text(q)}'. Prefixes for a single client must not overlap.")
        for p in prefixes or [b""]:
            if p not in kept:
                kept.append(p)
    tracking.enable(session, ClientTracking(redirect=redirect, bcast=bcast, optin=optin, optout=optout,
                                            noloop=noloop, prefixes=kept))
    return OK


def _text(p: bytes) -> str:
    return p.decode(errors="replace")


@subcommand("client", "caching", 3, _FLAGS, group="connection", since="6.0.0",
            summary="Instruct the server about tracking or not keys in the next request")
def client_caching(session: Session, argv: list[bytes]):
    state = session.tracking
    if state is None:
        return ErrorReply("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
                          "OPTOUT mode enabled")
    opt = argv[2].lower()
    if opt == b"yes":
        if not state.optin:
            return ErrorReply("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
        state.caching = True
    elif opt == b"no":
        if not state.optout:
            return ErrorReply("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
        state.caching = False
    else:
        return errors.SYNTAX
    return OK


@subcommand("client", "getredir", 2, _FLAGS, group="connection", since="6.0.0",
            summary="Get tracking notifications redirection client ID if any")
def client_getredir(session: Session, argv: list[bytes]):
    state = session.tracking
    return -1 if state is None else state.redirect


@subcommand("client", "trackinginfo", 2, _FLAGS, group="connection", since="6.2.0",
            summary="Return information about server assisted client side caching for the current connection")
def client_trackinginfo(session: Session, argv: list[bytes]):
    state = session.tracking
    if state is None:
        return Map([(b"flags", [b"off"]), (b"redirect", -1), (b"prefixes", [])])
    return Map([(b"flags", state.flags()), (b"redirect", state.redirect), (b"prefixes", sorted(state.prefixes))])
