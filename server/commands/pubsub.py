"""SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, their sharded forms (SSUBSCRIBE,
SUNSUBSCRIBE, SPUBLISH) and PUBSUB. See server.pubsub."""

from __future__ import annotations

from typing import Any

from resp.encoder import encode
from resp.types import Raw, SimpleString
from server.commands.registry import CONN, WRITE, command, container, subcommand
from server.pubsub import CHANNEL, PATTERN, SHARD


def _pushes(session: Any, pushes: list) -> Raw:
    return Raw(b"".join(encode(p, session.resp3) for p in pushes))


@command("subscribe", -2, "pubsub noscript loading stale", kind=CONN, group="pubsub",
         summary="Listens for messages published to channels.")
def subscribe(session: Any, argv: list[bytes]) -> Any:
    return _pushes(session, session.server.pubsub.subscribe(session, argv[1:], CHANNEL))


@command("psubscribe", -2, "pubsub noscript loading stale", kind=CONN, group="pubsub",
         summary="Listens for messages published to channels that match one or more patterns.")
def psubscribe(session: Any, argv: list[bytes]) -> Any:
    return _pushes(session, session.server.pubsub.subscribe(session, argv[1:], PATTERN))


@command("unsubscribe", -1, "pubsub noscript loading stale", kind=CONN, group="pubsub",
         summary="Stops listening to messages posted to channels.")
def unsubscribe(session: Any, argv: list[bytes]) -> Any:
    return _pushes(session, session.server.pubsub.unsubscribe(session, argv[1:], CHANNEL))


@command("punsubscribe", -1, "pubsub noscript loading stale", kind=CONN, group="pubsub",
         summary="Stops listening to messages published to channels that match one or more patterns.")
def punsubscribe(session: Any, argv: list[bytes]) -> Any:
    return _pushes(session, session.server.pubsub.unsubscribe(session, argv[1:], PATTERN))


@command("publish", 3, "pubsub loading stale fast", kind=WRITE, group="pubsub",
         summary="Posts a message to a channel.")
def publish(ctx: Any, argv: list[bytes]) -> Any:
    deliver = ctx.publish
    return deliver(argv[1], argv[2]) if deliver is not None else 0


@command("ssubscribe", -2, "pubsub noscript loading stale", 1, -1, 1, kind=CONN, group="pubsub", since="7.0.0",
         summary="Listens for messages published to shard channels.")
def ssubscribe(session: Any, argv: list[bytes]) -> Any:
    return _pushes(session, session.server.pubsub.subscribe(session, argv[1:], SHARD))


@command("sunsubscribe", -1, "pubsub noscript loading stale", 1, -1, 1, kind=CONN, group="pubsub",
         since="7.0.0", summary="Stops listening to messages posted to shard channels.")
def sunsubscribe(session: Any, argv: list[bytes]) -> Any:
    return _pushes(session, session.server.pubsub.unsubscribe(session, argv[1:], SHARD))


@command("spublish", 3, "pubsub loading stale fast", 1, 1, 1, kind=WRITE, group="pubsub", since="7.0.0",
         summary="Post a message to a shard channel")
def spublish(ctx: Any, argv: list[bytes]) -> Any:
    deliver = ctx.spublish
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


@subcommand("pubsub", "shardchannels", -2, "pubsub loading stale", kind=CONN, since="7.0.0",
            summary="Returns the active shard channels.")
def pubsub_shardchannels(session: Any, argv: list[bytes]) -> Any:
    return session.server.pubsub.channel_names(argv[2] if len(argv) > 2 else None, shard=True)


@subcommand("pubsub", "shardnumsub", -2, "pubsub loading stale", kind=CONN, since="7.0.0",
            summary="Returns the count of subscribers of shard channels.")
def pubsub_shardnumsub(session: Any, argv: list[bytes]) -> Any:
    return session.server.pubsub.numsub(argv[2:], shard=True)


@subcommand("pubsub", "help", 2, "loading stale", kind=CONN, group="server", since="6.2.0",
            summary="Returns helpful text about the different subcommands.")
def pubsub_help(session: Any, argv: list[bytes]) -> Any:
    lines = [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]
