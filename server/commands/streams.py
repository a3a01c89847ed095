"""Stream commands (Redis 7.0's t_stream.c) on ``server.stream.Stream``.

Argument parsing, the order of the checks and the error texts are Redis's. Everything that
depends on time (``*`` IDs, delivery and seen times, idle times) uses ``ctx.now_ms``: for a
write, the leader's time carried in the log entry, so every node stores the same values.

XREADGROUP, XCLAIM, XAUTOCLAIM and XACK change the groups and so are writes (Redis flags
XREADGROUP "write" too). XREAD is a read; ``XREAD ... BLOCK`` goes through the log like the
other blocking commands (``server.commands.blocking``). When nothing can be served the
handler returns ``Blocked`` whose command to propose again is ``RAFTIS.XREAD-WOKEN`` followed
by the original one with ``$`` replaced by the stream's last ID at that point: Redis serves a
woken reader by other rules than a new command (the first key whose last ID passed the one
waited for serves it alone, even with nothing left to read; a destroyed group is an error),
and the internal command applies those. Where Redis leaves a choice to the order in which
keys became ready, the woken reader takes its keys in command order.
"""

from __future__ import annotations

from bisect import bisect_left

from resp.encoder import encode
from resp.parser import string2ll
from resp.types import NULL_ARRAY, OK, ErrorReply, Map, Raw, SimpleString
from server import errors
from server.commands.arguments import LLONG_MAX, parse_int
from server.commands.blocking import BLOCKING_COMMANDS, Blocked, in_exec
from server.commands.containers import read_typed, write_typed
from server.commands.context import ExecContext, counted
from server.commands.registry import READ, WRITE, command, container, subcommand
from server.notify import NEW, STREAM, announce
from server.stream import (
    INVALID_ENTRIES_READ,
    MAX_ID,
    NODE_MAX_ENTRIES,
    SEQ_MASK,
    Consumer,
    Group,
    Nack,
    Stream,
    entry_reply,
    format_id,
)

INVALID_ID = ErrorReply("ERR Invalid stream ID specified as stream command argument")
XADD_ID_ZERO = ErrorReply("ERR The ID specified in XADD must be greater than 0-0")
XADD_ID_SMALL = ErrorReply("ERR The ID specified in XADD is equal or smaller than the target stream top item")
XADD_EXHAUSTED = ErrorReply("ERR The stream has exhausted the last possible ID, unable to add more items")
MAXLEN_NEGATIVE = ErrorReply("ERR The MAXLEN argument must be >= 0.")
LIMIT_NEGATIVE = ErrorReply("ERR The LIMIT argument must be >= 0.")
MAXLEN_AND_MINID = ErrorReply("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
LIMIT_WITHOUT_STRATEGY = ErrorReply("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
XTRIM_WITHOUT_STRATEGY = ErrorReply("ERR syntax error, XTRIM must be called with a trimming strategy")
LIMIT_WITHOUT_APPROX = ErrorReply("ERR syntax error, LIMIT cannot be used without the special ~ option")
INVALID_START = ErrorReply("ERR invalid start ID for the interval")
INVALID_END = ErrorReply("ERR invalid end ID for the interval")
UNBALANCED = ErrorReply("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
GROUP_ONLY_XREADGROUP = ErrorReply("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
NOACK_ONLY_XREADGROUP = ErrorReply("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
MISSING_GROUP = ErrorReply("ERR Missing GROUP option for XREADGROUP")
DOLLAR_IN_XREADGROUP = ErrorReply(
    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by "
    "specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."
)
GT_IN_XREAD = ErrorReply(
    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."
)
TIMEOUT_NOT_INTEGER = ErrorReply("ERR timeout is not an integer or out of range")
TIMEOUT_NEGATIVE = ErrorReply("ERR timeout is negative")
KEY_MUST_EXIST = ErrorReply(
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM "
    "option to create an empty stream automatically."
)
BUSYGROUP = ErrorReply("BUSYGROUP Consumer Group name already exists")
ENTRIESREAD_RANGE = ErrorReply("ERR value for ENTRIESREAD must be positive or -1")
ENTRIES_ADDED_NEGATIVE = ErrorReply("ERR entries_added must be positive")
XSETID_BELOW_MAXDELETED = ErrorReply(
    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
XSETID_SMALL = ErrorReply("ERR The ID specified in XSETID is smaller than the target stream top item")
XSETID_ENTRIES_ADDED_SMALL = ErrorReply(
    "ERR The entries_added specified in XSETID is smaller than the target stream length")
COUNT_POSITIVE = ErrorReply("ERR COUNT must be > 0")

_SPACE = b" \t\n\v\f\r"


# -- IDs ------------------------------------------------------------------------------------
def _strtoull(text: bytes) -> int | None:
    """Redis's ``string2ull``: ``string2ll`` (a negative value fails), else C's
    ``strtoull`` over the whole text (leading blanks, a sign; a '-' negates modulo 2**64)."""
    v = string2ll(text)
    if v is not None:
        return v if v >= 0 else None
    s = text.lstrip(_SPACE)
    neg = False
    if s[:1] in (b"+", b"-"):
        neg = s[:1] == b"-"
        s = s[1:]
    if not s or not s.isdigit():
        return None
    n = int(s)
    if n > SEQ_MASK:
        return None
    return (-n) & SEQ_MASK if neg else n


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False, allow_star_seq: bool = False) -> tuple[int, bool]:
    """``streamGenericParseIDOrReply``: (ID, whether the sequence was given). ``-`` and ``+``
    are the smallest and largest IDs unless ``strict``; ``ms`` alone takes ``missing_seq``;
    ``ms-*`` (only where ``allow_star_seq``) leaves the sequence to XADD."""
    if len(arg) > 127:
        raise INVALID_ID
    if arg == b"-" or arg == b"+":
        if strict:
            raise INVALID_ID
        return (0 if arg == b"-" else MAX_ID), True
    ms_text, dash, seq_text = arg.partition(b"-")
    ms = _strtoull(ms_text)
    if ms is None:
        raise INVALID_ID
    if not dash:
        return ms << 64 | missing_seq, True
    if allow_star_seq and seq_text == b"*":
        return ms << 64, False
    seq = _strtoull(seq_text)
    if seq is None:
        raise INVALID_ID
    return ms << 64 | seq, True


def strict_id(arg: bytes) -> int:
    return parse_id(arg, 0, strict=True)[0]


def _interval_id(arg: bytes, missing_seq: int) -> tuple[int, bool]:
    """``streamParseIntervalIDOrReply``: an ID, or ``(`` and an ID (exclusive)."""
    if len(arg) > 1 and arg[:1] == b"(":
        return parse_id(arg[1:], missing_seq, strict=True)[0], True
    return parse_id(arg, missing_seq)[0], False


# -- key access -----------------------------------------------------------------------------
def _read(ctx: ExecContext, key: bytes) -> Stream | None:
    return read_typed(ctx, key, Stream)


def _write(ctx: ExecContext, key: bytes) -> Stream | None:
    return write_typed(ctx, key, Stream)


def _write_counted(ctx: ExecContext, key: bytes) -> Stream | None:
    """``_write`` for XACK, XCLAIM and XAUTOCLAIM, whose lookup Redis counts as a read."""
    v = counted(ctx, key, ctx.db.get_for_write(key, ctx.now_ms, ctx.index))
    if v is None or type(v) is Stream:
        return v
    raise errors.WRONGTYPE


def _changed(ctx: ExecContext, key: bytes) -> None:
    """The key's entries changed (XADD, XDEL, XTRIM): WATCH sees it. As in Redis, changes to
    groups, consumers and pending entries, and XSETID, do not count."""
    ctx.db.bump(key, ctx.index)


def _entries(s: Stream, ids: list[int]) -> list:
    return [entry_reply(s, i) for i in ids]


def _incr(i: int) -> int | None:
    return None if i == MAX_ID else i + 1


def _decr(i: int) -> int | None:
    return None if i == 0 else i - 1


# -- XADD / XTRIM -----------------------------------------------------------------------------
class _Trim:
    __slots__ = ("maxlen", "minid", "approx", "limit", "nomkstream", "id", "seq_given", "next")

    def __init__(self) -> None:
        self.maxlen: int | None = None
        self.minid: int | None = None
        self.approx = False
        self.limit = 0
        self.nomkstream = False
        self.id: int | None = None
        self.seq_given = True
        self.next = 0


def _parse_add_or_trim(argv: list[bytes], xadd: bool) -> _Trim:
    """``streamParseAddOrTrimArgsOrReply``."""
    t = _Trim()
    i = 2
    limit_given = False
    argc = len(argv)
    while i < argc:
        more = argc - 1 - i
        opt = argv[i]
        low = opt.lower()
        if xadd and opt == b"*":
            break
        if low == b"maxlen" and more:
            if t.maxlen is not None or t.minid is not None:
                raise MAXLEN_AND_MINID
            t.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt in (b"~", b"="):
                t.approx = nxt == b"~"
                i += 1
            maxlen = parse_int(argv[i + 1])
            if maxlen < 0:
                raise MAXLEN_NEGATIVE
            t.maxlen = maxlen
            i += 1
        elif low == b"minid" and more:
            if t.maxlen is not None or t.minid is not None:
                raise MAXLEN_AND_MINID
            t.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt in (b"~", b"="):
                t.approx = nxt == b"~"
                i += 1
            t.minid = strict_id(argv[i + 1])
            i += 1
        elif low == b"limit" and more:
            limit = parse_int(argv[i + 1])
            if limit < 0:
                raise LIMIT_NEGATIVE
            t.limit = limit
            limit_given = True
            i += 1
        elif xadd and low == b"nomkstream":
            t.nomkstream = True
        elif xadd:
            t.id, t.seq_given = parse_id(opt, 0, strict=True, allow_star_seq=True)
            break
        else:
            raise errors.SYNTAX
        i += 1
    strategy = t.maxlen is not None or t.minid is not None
    if t.limit and not strategy:
        raise LIMIT_WITHOUT_STRATEGY
    if not xadd and not strategy:
        raise XTRIM_WITHOUT_STRATEGY
    if limit_given:
        if not t.approx:
            raise LIMIT_WITHOUT_APPROX
    else:
        t.limit = 100 * NODE_MAX_ENTRIES if t.approx else 0
    t.next = i
    return t


@command("xadd", -5, "write denyoom fast", 1, 1, 1, WRITE, group="stream", since="5.0.0")
def xadd(ctx: ExecContext, argv: list[bytes]):
    """Appends a new entry to a stream"""
    t = _parse_add_or_trim(argv, True)
    field_pos = t.next + 1
    nfields = len(argv) - field_pos
    if nfields < 2 or nfields % 2:
        raise errors.wrong_arity(b"xadd")
    if t.id is not None and t.seq_given and t.id == 0:
        raise XADD_ID_ZERO
    key = argv[1]
    s = _write(ctx, key)
    if s is None:
        if t.nomkstream:
            return None
        s = Stream()
        ctx.db.set(key, s, ctx.index)
        announce(ctx, NEW, b"new", key)
    if s.last_id == MAX_ID:
        raise XADD_EXHAUSTED
    last = s.last_id
    if t.id is None:
        ms = ctx.now_ms
        new = ms << 64 if ms > last >> 64 else last + 1
    elif not t.seq_given:
        ms = t.id >> 64
        if ms == last >> 64:
            if last & SEQ_MASK == SEQ_MASK:
                raise XADD_ID_SMALL
            new = last + 1
        else:
            new = t.id
        if new <= last:
            raise XADD_ID_SMALL
    else:
        new = t.id
        if new <= last:
            raise XADD_ID_SMALL
    s.append(new, tuple(argv[field_pos:]))
    announce(ctx, STREAM, b"xadd", key)
    if (t.maxlen is not None or t.minid is not None) and s.trim(t.maxlen, t.minid, t.approx, t.limit):
        announce(ctx, STREAM, b"xtrim", key)
    _changed(ctx, key)
    return format_id(new)


@command("xtrim", -4, "write", 1, 1, 1, WRITE, group="stream", since="5.0.0")
def xtrim(ctx: ExecContext, argv: list[bytes]):
    """Deletes messages from the beginning of a stream."""
    t = _parse_add_or_trim(argv, False)
    key = argv[1]
    s = _write(ctx, key)
    if s is None:
        return 0
    n = s.trim(t.maxlen, t.minid, t.approx, t.limit)
    if n:
        _changed(ctx, key)
        announce(ctx, STREAM, b"xtrim", key)
    return n


@command("xdel", -3, "write fast", 1, 1, 1, WRITE, group="stream", since="5.0.0")
def xdel(ctx: ExecContext, argv: list[bytes]):
    """Removes the specified entries from the stream, and returns how many existed"""
    key = argv[1]
    s = _write(ctx, key)
    if s is None:
        return 0
    ids = [strict_id(a) for a in argv[2:]]
    deleted = 0
    for i in ids:
        if s.delete(i):
            if i > s.max_deleted:
                s.max_deleted = i
            deleted += 1
    if deleted:
        _changed(ctx, key)
        announce(ctx, STREAM, b"xdel", key)
    return deleted


@command("xlen", 2, "readonly fast", 1, 1, 1, READ, group="stream", since="5.0.0")
def xlen(ctx: ExecContext, argv: list[bytes]):
    """Return the number of entries in a stream"""
    s = _read(ctx, argv[1])
    return 0 if s is None else len(s)


@command("xsetid", -3, "write denyoom fast", 1, 1, 1, WRITE, group="stream", since="5.0.0")
def xsetid(ctx: ExecContext, argv: list[bytes]):
    """An internal command for replicating stream values"""
    new = strict_id(argv[2])
    entries_added = -1
    max_deleted = 0
    i = 3
    while i < len(argv):
        more = len(argv) - 1 - i
        opt = argv[i].lower()
        if opt == b"entriesadded" and more:
            entries_added = parse_int(argv[i + 1])
            if entries_added < 0:
                raise ENTRIES_ADDED_NEGATIVE
        elif opt == b"maxdeletedid" and more:
            max_deleted = strict_id(argv[i + 1])
            if new < max_deleted:
                raise XSETID_BELOW_MAXDELETED
        else:
            raise errors.SYNTAX
        i += 2
    key = argv[1]
    s = _write(ctx, key)
    if s is None:
        raise errors.NO_SUCH_KEY
    if len(s):
        if new < s.last_valid_id():
            raise XSETID_SMALL
        if entries_added != -1 and len(s) > entries_added:
            raise XSETID_ENTRIES_ADDED_SMALL
    s.last_id = new
    if entries_added != -1:
        s.entries_added = entries_added
    if max_deleted:
        s.max_deleted = max_deleted
    announce(ctx, STREAM, b"xsetid", key)
    return OK


# -- XRANGE / XREVRANGE ------------------------------------------------------------------------
def _range(ctx: ExecContext, argv: list[bytes], rev: bool):
    start_arg, end_arg = (argv[3], argv[2]) if rev else (argv[2], argv[3])
    start, start_ex = _interval_id(start_arg, 0)
    if start_ex:
        start = _incr(start)
        if start is None:
            raise INVALID_START
    end, end_ex = _interval_id(end_arg, SEQ_MASK)
    if end_ex:
        end = _decr(end)
        if end is None:
            raise INVALID_END
    count = -1
    i = 4
    while i < len(argv):
        if argv[i].lower() == b"count" and len(argv) - 1 - i >= 1:
            count = parse_int(argv[i + 1])
            if count < 0:
                count = 0
            i += 2
        else:
            raise errors.SYNTAX
    s = _read(ctx, argv[1])
    if s is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return _entries(s, s.range(start, end, max(count, 0), rev))


@command("xrange", -4, "readonly", 1, 1, 1, READ, group="stream", since="5.0.0")
def xrange(ctx: ExecContext, argv: list[bytes]):
    """Return a range of elements in a stream, with IDs matching the specified IDs interval"""
    return _range(ctx, argv, False)


@command("xrevrange", -4, "readonly", 1, 1, 1, READ, group="stream", since="5.0.0")
def xrevrange(ctx: ExecContext, argv: list[bytes]):
    """Return a range of elements in a stream, in reverse order (from greater to smaller IDs)"""
    return _range(ctx, argv, True)


# -- XREAD / XREADGROUP ------------------------------------------------------------------------
def _block_timeout(arg: bytes) -> int:
    """``getTimeoutFromObjectOrReply`` in milliseconds."""
    v = string2ll(arg)
    if v is None:
        raise TIMEOUT_NOT_INTEGER
    if v < 0:
        raise TIMEOUT_NEGATIVE
    return v


def xread_blocks(argv: list[bytes]) -> bool:
    """Whether an XREAD (or XREADGROUP) has the BLOCK option, so must go through the log."""
    i = 1
    while i < len(argv) - 1:
        opt = argv[i].lower()
        if opt == b"block":
            return True
        if opt == b"count":
            i += 2
        elif opt == b"group":
            i += 3
        elif opt == b"noack":
            i += 1
        else:  # STREAMS, or a syntax error the handler reports
            return False
    return False


class _XRead:
    """XREAD's or XREADGROUP's parsed options; ``keys`` and ``id_args`` pair up."""

    __slots__ = ("timeout", "count", "noack", "group", "consumer", "keys", "id_args", "ids_at")

    def __init__(self, argv: list[bytes], group_read: bool) -> None:
        self.timeout = -1
        self.count = 0
        self.noack = False
        self.group: bytes | None = None
        self.consumer: bytes | None = None
        streams_arg = 0
        argc = len(argv)
        i = 1
        while i < argc:
            more = argc - i - 1
            opt = argv[i].lower()
            if opt == b"block" and more:
                i += 1
                self.timeout = _block_timeout(argv[i])
            elif opt == b"count" and more:
                i += 1
                self.count = max(parse_int(argv[i]), 0)
            elif opt == b"streams" and more:
                streams_arg = i + 1
                if (argc - streams_arg) % 2:
                    raise UNBALANCED
                break
            elif opt == b"group" and more >= 2:
                if not group_read:
                    raise GROUP_ONLY_XREADGROUP
                self.group, self.consumer = argv[i + 1], argv[i + 2]
                i += 2
            elif opt == b"noack":
                if not group_read:
                    raise NOACK_ONLY_XREADGROUP
                self.noack = True
            else:
                raise errors.SYNTAX
            i += 1
        if not streams_arg:
            raise errors.SYNTAX
        if group_read and self.group is None:
            raise MISSING_GROUP
        n = (argc - streams_arg) // 2
        self.keys = argv[streams_arg:streams_arg + n]
        self.ids_at = streams_arg + n
        self.id_args = argv[self.ids_at:]


def _consumer(group: Group, name: bytes, now: int) -> Consumer:
    """``streamLookupConsumer`` (refreshing its seen time) or ``streamCreateConsumer``."""
    consumer = group.consumers.get(name)
    if consumer is None:
        consumer = group.consumers[name] = Consumer(name, now)
    consumer.seen_time = now
    return consumer


def _reader(ctx: ExecContext, key: bytes, group: Group, name: bytes) -> Consumer:
    """XREADGROUP's consumer; one it creates is announced, as Redis does (XCLAIM's and
    XAUTOCLAIM's are not)."""
    if name not in group.consumers:
        announce(ctx, STREAM, b"xgroup-createconsumer", key)
    return _consumer(group, name, ctx.now_ms)


def _serve_new(s: Stream, group: Group | None, consumer: Consumer | None, after: int, count: int, noack: bool,
               now: int) -> list:
    """Entries above ``after``; for a group, delivered: its last ID and read counter move on
    and, unless NOACK, each entry becomes (or becomes again) pending for ``consumer``."""
    got = s.range(after + 1, MAX_ID, count) if after != MAX_ID else []
    if group is not None:
        for i in got:
            s.deliver(group, i)
            if not noack:
                nack = group.pel.get(i)
                if nack is None:
                    group.add_pending(i, Nack(consumer, now))  # type: ignore[arg-type]
                else:
                    group.move_pending(i, nack, consumer)  # type: ignore[arg-type]
                    nack.delivery_time = now
                    nack.delivery_count = 1
    return _entries(s, got)


def _xread(ctx: ExecContext, argv: list[bytes], group_read: bool):
    r = _XRead(argv, group_read)
    n = len(r.keys)
    ids: list[int | None] = []  # None: ">"
    groups: list[Group | None] = []
    streams: list[Stream | None] = []
    rewritten = list(argv)
    for j in range(n):
        key = r.keys[j]
        arg = r.id_args[j]
        s = _read(ctx, key)
        streams.append(s)
        group = None
        if r.group is not None:
            group = s.groups.get(r.group) if s is not None else None
            if group is None:
                raise ErrorReply(b"NOGROUP No such key '" + key + b"' or consumer group '" + r.group
                                 + b"' in XREADGROUP with GROUP option")
        groups.append(group)
        if arg == b"$":
            if group_read:
                raise DOLLAR_IN_XREADGROUP
            last = s.last_id if s is not None else 0
            ids.append(last)
            rewritten[r.ids_at + j] = format_id(last)
            continue
        if arg == b">":
            if not group_read:
                raise GT_IN_XREAD
            ids.append(None)
            continue
        ids.append(strict_id(arg))

    now = ctx.now_ms
    served: list[tuple[bytes, list]] = []
    for j in range(n):
        s = counted(ctx, r.keys[j], streams[j])  # Redis looks each key up again to serve it
        if s is None:
            continue
        gt = ids[j]
        group = groups[j]
        if group is not None:
            # The consumer is created (or its seen time refreshed) only when served.
            if gt is not None:  # the consumer's history: always served
                consumer = _reader(ctx, r.keys[j], group, r.consumer)  # type: ignore[arg-type]
                served.append((r.keys[j], _history(s, group, consumer, gt + 1 if gt != MAX_ID else MAX_ID,
                                                   r.count, now)))
            elif len(s) and s.last_valid_id() > group.last_id:
                consumer = _reader(ctx, r.keys[j], group, r.consumer)  # type: ignore[arg-type]
                served.append((r.keys[j], _serve_new(s, group, consumer, group.last_id, r.count, r.noack, now)))
        elif len(s) and s.last_valid_id() > gt:  # type: ignore[operator]
            served.append((r.keys[j], _serve_new(s, None, None, gt, r.count, False, now)))  # type: ignore[arg-type]
    if served:
        return _streams_reply(served)
    if r.timeout != -1 and not in_exec(ctx):
        return Blocked(tuple(r.keys), r.timeout, [WOKEN, *rewritten])
    return NULL_ARRAY


WOKEN = b"raftis.xread-woken"
GROUP_GONE = ErrorReply("NOGROUP the consumer group this client was blocked on no longer exists")


@command(WOKEN.decode(), -6, "write internal blocking", 0, 0, 0, WRITE, group="stream", since="7.0.0")
def xread_woken(ctx: ExecContext, argv: list[bytes]):
    """A blocked XREAD or XREADGROUP proposed again after one of its keys changed. Redis serves
    such a client differently from a new command: the first of its keys (in order) that holds
    a stream whose last ID, deleted entries included, is above the one waited for (for a
    group, the group's last delivered ID) serves it, alone, even when nothing is left to read;
    a group destroyed meanwhile is an error; anything else leaves it waiting."""
    inner = argv[1:]
    group_read = inner[0].lower() == b"xreadgroup"
    r = _XRead(inner, group_read)
    now = ctx.now_ms
    for key, arg in zip(r.keys, r.id_args, strict=True):
        s = ctx.db.get_for_write(key, now, ctx.index)
        if type(s) is not Stream:
            continue
        group = consumer = None
        if r.group is not None:
            group = s.groups.get(r.group)
            if group is None:
                return GROUP_GONE
            gt = group.last_id
        else:
            gt = strict_id(arg)
        if s.last_id > gt:
            if group is not None:
                consumer = _reader(ctx, key, group, r.consumer)  # type: ignore[arg-type]
            return _streams_reply([(key, _serve_new(s, group, consumer, gt, r.count, r.noack, now))])
    if in_exec(ctx):
        return NULL_ARRAY
    return Blocked(tuple(r.keys), r.timeout, argv)


def _history(s: Stream, group: Group, consumer: Consumer, start: int, count: int, now: int) -> list:
    """``streamReplyWithRangeFromConsumerPEL``: the consumer's pending entries from ``start``;
    an entry deleted since comes back as ``[id, nil]``."""
    pel = consumer.pel
    k = bisect_left(pel, start)
    chosen = pel[k:k + count] if count else pel[k:]
    out = []
    for i in chosen:
        if i in s.entries:
            out.append(entry_reply(s, i))
            nack = group.pel[i]
            nack.delivery_time = now
            nack.delivery_count += 1
        else:
            out.append([format_id(i), NULL_ARRAY])
    return out


def _streams_reply(served: list[tuple[bytes, list]]) -> Raw:
    """XREAD's reply: ``[[key, entries], ...]`` in RESP2, a map of key to entries in RESP3."""
    return Raw(encode([[k, items] for k, items in served], False), encode(Map(served), True))


@command("xread", -4, "readonly blocking movablekeys", 0, 0, 0, READ, group="stream", since="5.0.0")
def xread(ctx: ExecContext, argv: list[bytes]):
    """Return elements of streams with IDs greater than the ones given for each stream. Can block."""
    return _xread(ctx, argv, False)


@command("xreadgroup", -7, "write blocking movablekeys", 0, 0, 0, WRITE, group="stream", since="5.0.0")
def xreadgroup(ctx: ExecContext, argv: list[bytes]):
    """Return new entries through a consumer group, or a consumer's pending entries. Can block."""
    return _xread(ctx, argv, True)


def _streams_keys(argv: list[bytes]) -> list[int]:
    """Where XREAD's or XREADGROUP's keys are: the first half of what follows STREAMS, found
    by stepping over the options as Redis's ``xreadGetKeys`` does (a consumer named
    "streams" is not the keyword)."""
    i = 1
    while i < len(argv):
        opt = argv[i].lower()
        if opt in (b"block", b"count"):
            i += 2
        elif opt == b"group":
            i += 3
        elif opt == b"noack":
            i += 1
        elif opt == b"streams":
            n = (len(argv) - i - 1) // 2
            return list(range(i + 1, i + 1 + n))
        else:
            break
    return []


def stream_read_keys(argv: list[bytes]) -> list[bytes]:
    """The keys of an XREAD or XREADGROUP (ACL checks)."""
    return [argv[i] for i in _streams_keys(argv)]


BLOCKING_COMMANDS[b"xread"] = _streams_keys
BLOCKING_COMMANDS[b"xreadgroup"] = _streams_keys
BLOCKING_COMMANDS[WOKEN] = lambda argv: [i + 1 for i in _streams_keys(argv[1:])]


# -- groups -------------------------------------------------------------------------------------
def _group_or_nogroup(s: Stream | None, key: bytes, name: bytes) -> Group:
    g = s.groups.get(name) if s is not None else None
    if g is None:
        raise ErrorReply(b"NOGROUP No such key '" + key + b"' or consumer group '" + name + b"'")
    return g


container("xgroup", "", READ, group="stream", summary="A container for consumer groups commands")


def _xgroup_stream(ctx: ExecContext, argv: list[bytes]) -> Stream:
    s = _write(ctx, argv[2])
    if s is None:
        raise KEY_MUST_EXIST
    return s


def _xgroup_group(ctx: ExecContext, argv: list[bytes]) -> tuple[Stream, Group]:
    s = _xgroup_stream(ctx, argv)
    g = s.groups.get(argv[3])
    if g is None:
        raise ErrorReply(b"NOGROUP No such consumer group '" + argv[3] + b"' for key name '" + argv[2] + b"'")
    return s, g


def _entries_read(arg: bytes) -> int:
    v = parse_int(arg)
    if v < 0 and v != INVALID_ENTRIES_READ:
        raise ENTRIESREAD_RANGE
    return v


@subcommand("xgroup", "create", -5, "write denyoom", 2, 2, 1, WRITE, group="stream", since="5.0.0")
def xgroup_create(ctx: ExecContext, argv: list[bytes]):
    """Create a consumer group."""
    mkstream = False
    entries_read = INVALID_ENTRIES_READ
    i = 5
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"mkstream":
            mkstream = True
            i += 1
        elif opt == b"entriesread" and i + 1 < len(argv):
            entries_read = _entries_read(argv[i + 1])
            i += 2
        else:
            raise errors.subcommand_syntax(argv)
    key = argv[2]
    s = _write(ctx, key)
    if s is None and not mkstream:
        raise KEY_MUST_EXIST
    if argv[4] == b"$":
        last = s.last_id if s is not None else 0
    else:
        last = strict_id(argv[4])
    if s is None:
        s = Stream()
        ctx.db.set(key, s, ctx.index)
        announce(ctx, NEW, b"new", key)
    if argv[3] in s.groups:
        raise BUSYGROUP
    s.groups[argv[3]] = Group(last, entries_read)
    announce(ctx, STREAM, b"xgroup-create", key)
    return OK


@subcommand("xgroup", "setid", -5, "write", 2, 2, 1, WRITE, group="stream", since="5.0.0")
def xgroup_setid(ctx: ExecContext, argv: list[bytes]):
    """Set a consumer group to an arbitrary last delivered ID value."""
    entries_read = INVALID_ENTRIES_READ
    if len(argv) == 7:
        if argv[5].lower() != b"entriesread":
            raise errors.subcommand_syntax(argv)
        entries_read = _entries_read(argv[6])
    elif len(argv) != 5:
        raise errors.subcommand_syntax(argv)
    s, g = _xgroup_group(ctx, argv)
    g.last_id = s.last_id if argv[4] == b"$" else parse_id(argv[4])[0]
    g.entries_read = entries_read
    announce(ctx, STREAM, b"xgroup-setid", argv[2])
    return OK


@subcommand("xgroup", "destroy", 4, "write", 2, 2, 1, WRITE, group="stream", since="5.0.0")
def xgroup_destroy(ctx: ExecContext, argv: list[bytes]):
    """Destroy a consumer group."""
    s = _xgroup_stream(ctx, argv)
    if argv[3] not in s.groups:
        return 0
    del s.groups[argv[3]]
    s.wakes += 1  # its blocked readers get NOGROUP, as Redis signals them
    announce(ctx, STREAM, b"xgroup-destroy", argv[2])
    return 1


@subcommand("xgroup", "createconsumer", 5, "write denyoom", 2, 2, 1, WRITE, group="stream", since="6.2.0")
def xgroup_createconsumer(ctx: ExecContext, argv: list[bytes]):
    """Create a consumer in a consumer group."""
    _, g = _xgroup_group(ctx, argv)
    name = argv[4]
    if name in g.consumers:
        return 0
    g.consumers[name] = Consumer(name, ctx.now_ms)
    announce(ctx, STREAM, b"xgroup-createconsumer", argv[2])
    return 1


@subcommand("xgroup", "delconsumer", 5, "write", 2, 2, 1, WRITE, group="stream", since="5.0.0")
def xgroup_delconsumer(ctx: ExecContext, argv: list[bytes]):
    """Delete a consumer from a consumer group."""
    _, g = _xgroup_group(ctx, argv)
    existed = argv[4] in g.consumers
    pending = g.delete_consumer(argv[4])
    if existed:
        announce(ctx, STREAM, b"xgroup-delconsumer", argv[2])
    return pending


@subcommand("xgroup", "help", 2, "loading stale", kind=READ, group="stream", since="5.0.0")
def xgroup_help(ctx: ExecContext, argv: list[bytes]):
    """Show helpful text about the different subcommands"""
    lines = [
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]


# -- XACK / XPENDING / XCLAIM / XAUTOCLAIM ------------------------------------------------------
@command("xack", -4, "write fast", 1, 1, 1, WRITE, group="stream", since="5.0.0")
def xack(ctx: ExecContext, argv: list[bytes]):
    """Marks pending messages as processed, removing them from the group's pending entries list"""
    key = argv[1]
    s = _write_counted(ctx, key)
    g = s.groups.get(argv[2]) if s is not None else None
    if g is None:
        return 0
    ids = [strict_id(a) for a in argv[3:]]
    acked = 0
    for i in ids:
        if g.remove_pending(i) is not None:
            acked += 1
    return acked


@command("xpending", -3, "readonly", 1, 1, 1, READ, group="stream", since="5.0.0")
def xpending(ctx: ExecContext, argv: list[bytes]):
    """Return a summary or the entries of a consumer group's pending entries list"""
    argc = len(argv)
    if argc != 3 and not 6 <= argc <= 9:
        raise errors.SYNTAX
    min_idle = 0
    consumer_name = None
    if argc >= 6:
        at = 3
        if argv[3].lower() == b"idle":
            min_idle = parse_int(argv[4])
            if argc < 8:
                raise errors.SYNTAX
            at = 5
        count = max(parse_int(argv[at + 2]), 0)
        start, ex = _interval_id(argv[at], 0)
        if ex:
            start = _incr(start)
            if start is None:
                raise INVALID_START
        end, ex = _interval_id(argv[at + 1], SEQ_MASK)
        if ex:
            end = _decr(end)
            if end is None:
                raise INVALID_END
        if at + 3 < argc:
            consumer_name = argv[at + 3]
    s = _read(ctx, argv[1])
    g = _group_or_nogroup(s, argv[1], argv[2])
    if argc == 3:
        if not g.pel:
            return [0, None, None, NULL_ARRAY]
        owners = [[c.name, b"%d" % len(c.pel)] for c in g.sorted_consumers() if c.pel]
        return [len(g.pel), format_id(g.pel_ids[0]), format_id(g.pel_ids[-1]), owners]
    pel = g.pel_ids
    if consumer_name is not None:
        c = g.consumers.get(consumer_name)
        if c is None:
            return []
        pel = c.pel
    now = ctx.now_ms
    out = []
    k = bisect_left(pel, start)
    while count and k < len(pel) and pel[k] <= end:
        i = pel[k]
        k += 1
        nack = g.pel[i]
        if min_idle and now - nack.delivery_time < min_idle:
            continue
        count -= 1
        out.append([format_id(i), nack.consumer.name, max(now - nack.delivery_time, 0), nack.delivery_count])
    return out


def _claimed_reply(s: Stream, i: int, justid: bool):
    if justid:
        return format_id(i)
    return entry_reply(s, i) if i in s.entries else None


@command("xclaim", -6, "write fast", 1, 1, 1, WRITE, group="stream", since="5.0.0")
def xclaim(ctx: ExecContext, argv: list[bytes]):
    """Changes (or acquires) ownership of messages in a consumer group, as if delivered to the consumer"""
    key = argv[1]
    s = _write_counted(ctx, key)
    g = _group_or_nogroup(s, key, argv[2])
    assert s is not None
    min_idle = max(parse_int(argv[4], ErrorReply("ERR Invalid min-idle-time argument for XCLAIM")), 0)
    j = 5
    while j < len(argv):
        try:
            strict_id(argv[j])
        except ErrorReply:
            break
        j += 1
    last_id_arg = j - 1
    now = ctx.now_ms
    retrycount = -1
    deliverytime = -1
    force = justid = False
    last_id = 0
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].lower()
        if opt == b"force":
            force = True
        elif opt == b"justid":
            justid = True
        elif opt == b"idle" and more:
            j += 1
            deliverytime = now - parse_int(argv[j], ErrorReply("ERR Invalid IDLE option argument for XCLAIM"))
        elif opt == b"time" and more:
            j += 1
            deliverytime = parse_int(argv[j], ErrorReply("ERR Invalid TIME option argument for XCLAIM"))
        elif opt == b"retrycount" and more:
            j += 1
            retrycount = parse_int(argv[j], ErrorReply("ERR Invalid RETRYCOUNT option argument for XCLAIM"))
        elif opt == b"lastid" and more:
            j += 1
            last_id = strict_id(argv[j])
        else:
            raise ErrorReply(b"ERR Unrecognized XCLAIM option '" + argv[j] + b"'")
        j += 1
    if last_id > g.last_id:
        g.last_id = last_id
    if deliverytime == -1 or deliverytime < 0 or deliverytime > now:
        deliverytime = now
    consumer = None
    name = argv[3]
    out = []
    for a in argv[5:last_id_arg + 1]:
        i = strict_id(a)
        nack = g.pel.get(i)
        if i not in s.entries:  # deleted since: its pending entry goes too
            if nack is not None:
                g.remove_pending(i)
            continue
        if nack is None and not force:
            continue
        if nack is not None and min_idle and now - nack.delivery_time < min_idle:
            continue
        if consumer is None:
            consumer = _consumer(g, name, now)
        if nack is None:  # FORCE: pending from now on, as if delivered once
            nack = Nack(consumer, now, 1)
            g.add_pending(i, nack)
        else:
            g.move_pending(i, nack, consumer)
        nack.delivery_time = deliverytime
        if retrycount >= 0:
            nack.delivery_count = retrycount
        elif not justid:
            nack.delivery_count += 1
        out.append(_claimed_reply(s, i, justid))
    return out


@command("xautoclaim", -6, "write fast", 1, 1, 1, WRITE, group="stream", since="6.2.0")
def xautoclaim(ctx: ExecContext, argv: list[bytes]):
    """Transfers pending messages idle long enough to a consumer, scanning the group's pending list"""
    min_idle = max(parse_int(argv[4], ErrorReply("ERR Invalid min-idle-time argument for XAUTOCLAIM")), 0)
    start, ex = _interval_id(argv[5], 0)
    if ex:
        start = _incr(start)
        if start is None:
            raise INVALID_START
    count = 100
    justid = False
    j = 6
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].lower()
        if opt == b"count" and more:
            count = parse_int(argv[j + 1], COUNT_POSITIVE)
            if not 1 <= count <= LLONG_MAX // 16:
                raise COUNT_POSITIVE
            j += 1
        elif opt == b"justid":
            justid = True
        else:
            raise errors.SYNTAX
        j += 1
    key = argv[1]
    s = _write_counted(ctx, key)
    g = _group_or_nogroup(s, key, argv[2])
    assert s is not None
    attempts = count * 10
    now = ctx.now_ms
    name = argv[3]
    consumer = None
    claimed = []
    deleted = []
    k = bisect_left(g.pel_ids, start)
    last_seen = None
    while attempts and count and k < len(g.pel_ids):
        attempts -= 1
        i = g.pel_ids[k]
        last_seen = i
        if i not in s.entries:
            g.remove_pending(i)  # the ID at k is now the next one
            deleted.append(format_id(i))
            count -= 1
            continue
        k += 1
        nack = g.pel[i]
        if min_idle and now - nack.delivery_time < min_idle:
            continue
        if consumer is None:
            consumer = _consumer(g, name, now)
        g.move_pending(i, nack, consumer)
        nack.delivery_time = now
        if not justid:
            nack.delivery_count += 1
        claimed.append(_claimed_reply(s, i, justid))
        count -= 1
    # The cursor: the first pending ID after the last one looked at (0-0 at the end).
    cursor = 0
    if last_seen is not None:
        k = bisect_left(g.pel_ids, last_seen + 1)
        if k < len(g.pel_ids):
            cursor = g.pel_ids[k]
    return [format_id(cursor), claimed, deleted]


# -- XINFO ----------------------------------------------------------------------------------------
container("xinfo", "", READ, group="stream", summary="A container for stream introspection commands")


def _xinfo_stream_read(ctx: ExecContext, key: bytes) -> Stream:
    s = _read(ctx, key)
    if s is None:
        raise errors.NO_SUCH_KEY
    return s


@subcommand("xinfo", "stream", -3, "readonly", 2, 2, 1, READ, group="stream", since="5.0.0")
def xinfo_stream(ctx: ExecContext, argv: list[bytes]):
    """Get information about a stream"""
    s = _xinfo_stream_read(ctx, argv[2])
    extra = argv[3:]
    full = False
    count = 10
    if not extra:
        pass
    elif len(extra) == 1 and extra[0].lower() == b"full":
        full = True
    elif len(extra) == 3 and extra[0].lower() == b"full" and extra[1].lower() == b"count":
        full = True
        count = parse_int(extra[2])
        if count < 0:
            count = 10
    else:
        raise errors.subcommand_syntax(argv)
    head: list[tuple[bytes, object]] = [
        (b"length", len(s)),
        (b"radix-tree-keys", len(s.nodes)),
        (b"radix-tree-nodes", _rax_nodes(s)),
        (b"last-generated-id", format_id(s.last_id)),
        (b"max-deleted-entry-id", format_id(s.max_deleted)),
        (b"entries-added", s.entries_added),
        (b"recorded-first-entry-id", format_id(s.first_id)),
    ]
    if not full:
        head.append((b"groups", len(s.groups)))
        head.append((b"first-entry", entry_reply(s, s.ids[0]) if s.ids else None))
        head.append((b"last-entry", entry_reply(s, s.ids[-1]) if s.ids else None))
        return Map(head)
    head.append((b"entries", _entries(s, s.range(0, MAX_ID, count))))
    groups = []
    for name in sorted(s.groups):
        g = s.groups[name]
        pel_ids = g.pel_ids[:count] if count else g.pel_ids
        pending = [[format_id(i), g.pel[i].consumer.name, g.pel[i].delivery_time, g.pel[i].delivery_count]
                   for i in pel_ids]
        consumers = []
        for c in g.sorted_consumers():
            cids = c.pel[:count] if count else c.pel
            consumers.append(Map([
                (b"name", c.name),
                (b"seen-time", c.seen_time),
                (b"pel-count", len(c.pel)),
                (b"pending", [[format_id(i), g.pel[i].delivery_time, g.pel[i].delivery_count] for i in cids]),
            ]))
        groups.append(Map([
            (b"name", name),
            (b"last-delivered-id", format_id(g.last_id)),
            (b"entries-read", g.entries_read if g.entries_read != INVALID_ENTRIES_READ else None),
            (b"lag", s.lag(g)),
            (b"pel-count", len(g.pel)),
            (b"pending", pending),
            (b"consumers", consumers),
        ]))
    head.append((b"groups", groups))
    return Map(head)


def _rax_nodes(s: Stream) -> int:
    """XINFO's radix-tree-nodes: how many nodes Redis's radix tree needs for the nodes' master
    IDs (16-byte big-endian keys), compressed as rax compresses: a chain of single-child
    bytes is one node, a fork is a node, and each key ends in a leaf node."""
    keys = [i.to_bytes(16, "big") for i in s.firsts]
    return _rax_count(keys, 0, len(keys), 0) if keys else 1


def _rax_count(keys: list[bytes], lo: int, hi: int, depth: int) -> int:
    """Nodes below (and including) the node reached after ``depth`` bytes by the sorted,
    distinct keys ``keys[lo:hi]``."""
    if hi - lo == 1:
        return 1 if depth == 16 else 2  # the rest of the key in one compressed node, then its leaf
    first, last = keys[lo], keys[hi - 1]
    common = depth
    while first[common] == last[common]:
        common += 1
    if common > depth:  # a compressed node holds the shared bytes
        return 1 + _rax_count(keys, lo, hi, common)
    total = 1  # a fork on the byte at ``depth``
    start = lo
    for i in range(lo + 1, hi + 1):
        if i == hi or keys[i][depth] != keys[start][depth]:
            total += _rax_count(keys, start, i, depth + 1)
            start = i
    return total


@subcommand("xinfo", "groups", 3, "readonly", 2, 2, 1, READ, group="stream", since="5.0.0")
def xinfo_groups(ctx: ExecContext, argv: list[bytes]):
    """List the consumer groups of a stream"""
    s = _xinfo_stream_read(ctx, argv[2])
    out = []
    for name in sorted(s.groups):
        g = s.groups[name]
        out.append(Map([
            (b"name", name),
            (b"consumers", len(g.consumers)),
            (b"pending", len(g.pel)),
            (b"last-delivered-id", format_id(g.last_id)),
            (b"entries-read", g.entries_read if g.entries_read != INVALID_ENTRIES_READ else None),
            (b"lag", s.lag(g)),
        ]))
    return out


@subcommand("xinfo", "consumers", 4, "readonly", 2, 2, 1, READ, group="stream", since="5.0.0")
def xinfo_consumers(ctx: ExecContext, argv: list[bytes]):
    """List the consumers in a consumer group"""
    s = _xinfo_stream_read(ctx, argv[2])
    g = s.groups.get(argv[3])
    if g is None:
        raise ErrorReply(b"NOGROUP No such consumer group '" + argv[3] + b"' for key name '" + argv[2] + b"'")
    now = ctx.now_ms
    return [Map([(b"name", c.name), (b"pending", len(c.pel)), (b"idle", max(now - c.seen_time, 0))])
            for c in g.sorted_consumers()]


@subcommand("xinfo", "help", 2, "loading stale", kind=READ, group="stream", since="5.0.0")
def xinfo_help(ctx: ExecContext, argv: list[bytes]):
    """Show helpful text about the different subcommands"""
    lines = [
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Print this help.",
    ]
    return [SimpleString(line.encode()) for line in lines]
