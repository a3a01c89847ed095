"""Keyspace notifications (server.notify): the setting's parsing and spelling, the channels,
and that announcing changes nothing: the same writes give the same keyspace (and replies)
with notifications on or off. Message-for-message agreement with Redis is checked in
tests/compat/test_notifications_vs_redis.py."""

from __future__ import annotations

import io

import pytest

import server.commands  # noqa: F401  (registers the commands)
from resp.types import ErrorReply
from server import notify
from server.commands.context import ExecContext
from server.commands.registry import lookup_internal
from server.keyspace import Keyspace
from tests.compat.test_notifications_vs_redis import SCRIPT


@pytest.mark.parametrize("text, shown", [
    ("KEA", "AKE"), ("KEAn", "AKE"), ("Kx", "xK"), ("Eg$", "g$E"), ("KEn", "nKE"), ("AKEm", "AKEm"),
    ("KEg$lshzxetdn", "AKE"), ("", ""), ("gK$", "g$K"), ("xe", "xe"), ("KEt", "tKE"),
])
def test_setting_is_spelt_as_redis_does(text, shown):
    assert str(notify.KeyspaceEvents(notify.parse_flags(text))) == shown


def test_an_unknown_letter_is_refused():
    with pytest.raises(ValueError, match="Invalid event class character"):
        notify.parse_flags("KEQ")


def test_n_is_on_even_when_not_shown():
    flags = notify.parse_flags("KEAn")
    assert flags & notify.NEW and flags & notify.ALL == notify.ALL


def test_no_notifier_when_nothing_can_be_announced():
    publish = [].append
    assert notify.notifier_for(notify.parse_flags(""), publish) is None
    assert notify.notifier_for(notify.parse_flags("KE"), publish) is None  # no class
    assert notify.notifier_for(notify.parse_flags("A"), publish) is None  # no channel
    assert notify.notifier_for(notify.parse_flags("Kn"), publish) is not None


def test_channels_and_classes():
    sent: list = []
    n = notify.notifier_for(notify.parse_flags("KEl"), lambda c, m: sent.append((c, m)))
    n(notify.LIST, b"lpush", b"k", 3)
    n(notify.GENERIC, b"del", b"k", 3)  # g is not on
    assert sent == [(b"__keyspace@3__:k", b"lpush"), (b"__keyevent@3__:lpush", b"k")]


def test_announce_is_one_line_for_a_command_off_the_hot_path():
    ctx = ExecContext(Keyspace())
    notify.announce(ctx, notify.STREAM, b"xadd", b"k")  # off: nothing, no error
    sent: list = []
    ctx.notify = notify.notifier_for(notify.parse_flags("Et"), lambda c, m: sent.append((c, m)))
    ctx.select(5)
    notify.announce(ctx, notify.STREAM, b"xadd", b"k")
    assert sent == [(b"__keyevent@5__:xadd", b"k")]


def _apply_all(flags: str) -> tuple[bytes, list, list]:
    ks = Keyspace()
    ctx = ExecContext(ks)
    sent: list = []
    ctx.notify = notify.notifier_for(notify.parse_flags(flags), lambda c, m: sent.append((c, m)) or 0)
    for db in ks.dbs:
        db.notify = ctx.notify
    replies = []
    index = 1
    for step in SCRIPT:
        if step[0] in ("multi", "expired", "sleep", "blocked", "SELECT", "EVAL", "FUNCTION", "FCALL"):
            continue
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in step]
        ctx.for_write(index, 1_000_000 + index * 10, 0)
        cmd = lookup_internal(argv)
        try:
            reply = cmd if isinstance(cmd, ErrorReply) else cmd.run(ctx, argv)
        except ErrorReply as e:
            reply = e
        replies.append(str(reply) if isinstance(reply, ErrorReply) else repr(reply))
        index += 1
    out = io.BytesIO()
    ks.snapshot_to(out)
    return out.getvalue(), replies, sent


def test_notifications_change_nothing():
    off = _apply_all("")
    on = _apply_all("KEAn")
    assert on[0] == off[0] and on[1] == off[1]
    assert not off[2] and len(on[2]) > 300
