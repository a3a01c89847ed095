"""The payload of a NORMAL log entry: a batch of client commands.

One entry carries every write that arrived in one event-loop turn, so a pipeline of writes
(or writes from many clients at once) costs one log entry, one WAL record and one fsync.

    entry.data := msgpack [now_ms, [command, ...]]
    command    := [db, [arg, ...]]                  a plain command
                | [db, [arg, ...], watches]          EXEC: arg list is the queued commands,
                                                     watches = [[db, key, version], ...]

``now_ms`` is the leader's clock when it built the batch, never less than the previous
batch's: every node applies the commands with that time, so expiry decisions are the same
everywhere. An empty ``data`` is the leader's term-start no-op.
"""

from __future__ import annotations

import msgspec

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder()


def encode_batch(now_ms: int, commands: list) -> bytes:
    return _enc.encode((now_ms, commands))


def decode_batch(data: bytes) -> tuple[int, list]:
    now_ms, commands = _dec.decode(data)
    return now_ms, commands


_time_dec = msgspec.msgpack.Decoder(tuple[int, msgspec.Raw])


def batch_time(data: bytes) -> int:
    """A batch's ``now_ms`` alone (its commands are not decoded). ValueError if malformed."""
    try:
        return _time_dec.decode(data)[0]
    except msgspec.DecodeError as e:
        raise ValueError(str(e)) from None
