"""SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB. See server.pubsub."""

from __future__ import annotations

from typing import Any

from resp.encoder import encode
from resp.types import Raw
from server.commands.registry import CONN, WRITE, command, container, subcommand


def _pushes(session: Any, pushes: list) -> Raw:
    return Raw(b"".join(encode(p, session.resp3) for p in pushes))


@command("subscribe", -2, "pubsub noscript loading stale", kind=CONN, group="pubsub",
         summary="Listens for messages published to channels.")
def subscribe(session: Any, argv: list[bytes]) -> Any:
    return _pushes(session, session.server.pubsub.subscribe(session, argv[1:], False))


@command("psubscribe", -2, "pubsub noscript loading stale", kind=CONN, group="pubsub",
         summary="Listens for messages published to channels that match one or more patterns.")
def psubscribe(session: Any, argv: list[bytes]) -> Any:
    return _pushes(session, session.server.pubsub.subscribe(session, argv[1:], True))


@command("unsubscribe", -1, "pubsub noscript loading stale", kind=CONN, group="pubsub",
         summary="Stops listening to messages posted to channels.")
def unsubscribe(session: Any, argv: list[bytes]) -> Any:
    return _pushes(session, session.server.pubsub.unsubscribe(session, argv[1:], False))


@command("punsubscribe", -1, "pubsub noscript loading stale", kind=CONN, group="pubsub",
         summary="Stops listening to messages published to channels that match one or more patterns.")
def punsubscribe(session: Any, argv: list[bytes]) -> Any:
    return _pushes(session, session.server.pubsub.unsubscribe(session, argv[1:], True))


@command("publish", 3, "pubsub loading stale fast", kind=WRITE, group="pubsub",
         summary="Posts a message to a channel.")
def publish(ctx: Any, argv: list[bytes]) -> Any:
    deliver = ctx.publish
    return deliver(argv[1], argv[2]) if deliver is not None else 0


container("pubsub", kind=CONN, group="pubsub", summary="A container for Pub/Sub commands.")


@subcommand("pubsub", "channels", -2, "pubsub loading stale", kind=CONN,
            summary="Returns the active channels.")
def pubsub_channels(session: Any, argv: list[bytes]) -> Any:
    return session.server.pubsub.channel_names(argv[2] if len(argv) > 2 else None)


@subcommand("pubsub", "numsub", -2, "pubsub loading stale", kind=CONN,
            summary="Returns a count of subscribers to channels.")
def pubsub_numsub(session: Any, argv: list[bytes]) -> Any:
    return session.server.pubsub.numsub(argv[2:])


@subcommand("pubsub", "numpat", 2, "pubsub loading stale", kind=CONN,
            summary="Returns a count of unique pattern subscriptions.")
def pubsub_numpat(session: Any, argv: list[bytes]) -> Any:
    return session.server.pubsub.numpat()
