"""Binary encoding of the core's records (msgpack via msgspec).

Every record is a msgpack array of its fields in declaration order, so the encoding is
compact and decoding needs no field names. The TCP transport frames the bytes; this module
only turns records into bytes and back. Decoding malformed input raises ``CodecError``.

Wire layout (version 1)::

    Entry        [index, term, type, data]
    Membership   [voters, learners, [[id, address], ...]]
    SnapshotMeta [index, term, Membership]
    Message      [type, to, from, term, log_term, index, commit, [Entry...], reject,
                  reject_hint, context, SnapshotMeta | nil, offset, data, done]
    ConfChange   [op, node_id, address]
    HardState    [term, vote, commit]
"""

from __future__ import annotations

import msgspec

from .messages import (
    ConfChange,
    ConfChangeOp,
    Entry,
    EntryType,
    HardState,
    Membership,
    Message,
    MessageType,
    SnapshotMeta,
)


class CodecError(ValueError):
    pass


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()
_ENTRY_TYPES = tuple(EntryType)
_MESSAGE_TYPES = tuple(MessageType)

# A message's exact shape: a peer's bytes with a field of the wrong type (a string term, a
# negative enum index that Python would wrap around) are a CodecError, never a Message.
_Membership = tuple[list[int], list[int], list[tuple[int, str]]]
_MessageShape = tuple[
    int, int, int, int, int, int, int, list[tuple[int, int, int, bytes]], bool, int, int,
    tuple[int, int, _Membership] | None, int, bytes, bool,
]
_message_decoder = msgspec.msgpack.Decoder(_MessageShape)
# The same shape with each entry's data as a view into the buffer decoded (no copy): for the
# messages of a large batch, whose buffer is theirs alone (``batch_views``).
_MessageViewShape = tuple[
    int, int, int, int, int, int, int, list[tuple[int, int, int, memoryview]], bool, int, int,
    tuple[int, int, _Membership] | None, int, bytes, bool,
]
_message_view_decoder = msgspec.msgpack.Decoder(_MessageViewShape)


def _entry_fields(e: Entry) -> tuple:
    return (e.index, e.term, int(e.type), e.data)


def _entry_from(f: list) -> Entry:
    index, term, ty, data = f
    return Entry(index, term, _ENTRY_TYPES[ty], data)


def _membership_fields(m: Membership) -> tuple:
    return (sorted(m.voters), sorted(m.learners), sorted(m.addresses.items()))


def _membership_from(f: list) -> Membership:
    voters, learners, addresses = f
    return Membership(frozenset(voters), frozenset(learners), {int(k): v for k, v in addresses})


def _meta_fields(s: SnapshotMeta) -> tuple:
    return (s.index, s.term, _membership_fields(s.membership))


def _meta_from(f: list) -> SnapshotMeta:
    index, term, m = f
    return SnapshotMeta(index, term, _membership_from(m))


def encode_message(m: Message) -> bytes:
    return _encoder.encode(
        (
            int(m.type),
            m.to,
            m.from_,
            m.term,
            m.log_term,
            m.index,
            m.commit,
            [(e.index, e.term, int(e.type), e.data) for e in m.entries],
            m.reject,
            m.reject_hint,
            m.context,
            None if m.snapshot is None else _meta_fields(m.snapshot),
            m.offset,
            m.data,
            m.done,
        )
    )


def encode_message_parts(m: Message) -> list:
    """``encode_message(m)`` as pieces to write one after the other, each entry's data one of
    them as it is (not copied): for a message carrying a large entry, which the leader sends
    to every follower, and each copy of which costs its event loop a stall."""
    head = bytearray(_encoder.encode((int(m.type), m.to, m.from_, m.term, m.log_term, m.index, m.commit)))
    head[0] = 0x9F  # the message's 15 fields, not these 7
    n = len(m.entries)
    head += _array_header(n)
    parts: list = []
    for e in m.entries:
        fields = _encoder.encode((e.index, e.term, int(e.type)))
        head += b"\x94"
        head += memoryview(fields)[1:]
        head += _bin_header(len(e.data))
        parts.append(bytes(head))
        parts.append(e.data)
        head = bytearray()
    tail = _encoder.encode((m.reject, m.reject_hint, m.context,
                            None if m.snapshot is None else _meta_fields(m.snapshot), m.offset, m.data, m.done))
    head += memoryview(tail)[1:]
    parts.append(bytes(head))
    return parts


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def _bin_header(size: int) -> bytes:
    if size < 1 << 8:
        return b"\xc4" + size.to_bytes(1, "big")
    if size < 1 << 16:
        return b"\xc5" + size.to_bytes(2, "big")
    return b"\xc6" + size.to_bytes(4, "big")


def decode_message(buf: bytes, views: bool = False) -> Message:
    """The message in ``buf``. With ``views``, each entry's data is a memoryview into
    ``buf`` rather than a copy (``buf`` must not change while the entries live)."""
    try:
        f = (_message_view_decoder if views else _message_decoder).decode(buf)
        (ty, to, frm, term, log_term, index, commit, ents, reject, hint, ctx, snap, offset, data, done) = f
        E = Entry
        types = _ENTRY_TYPES
        if ty < 0 or any(k < 0 for _, _, k, _ in ents):
            raise ValueError("negative message or entry type")
        entries = tuple([E(i, t, types[k], d) for i, t, k, d in ents])
        return Message(
            _MESSAGE_TYPES[ty],
            to,
            frm,
            term,
            log_term,
            index,
            commit,
            entries,
            reject,
            hint,
            ctx,
            None if snap is None else _meta_from(snap),
            offset,
            data,
            done,
        )
    except (msgspec.DecodeError, ValueError, TypeError, IndexError) as e:
        raise CodecError(f"malformed message: {e}") from e


def encode_entry(e: Entry) -> bytes:
    return _encoder.encode(_entry_fields(e))


def decode_entry(buf: bytes) -> Entry:
    try:
        return _entry_from(_decoder.decode(buf))
    except (msgspec.DecodeError, ValueError, TypeError, IndexError) as e:
        raise CodecError(f"malformed entry: {e}") from e


def encode_conf_change(cc: ConfChange) -> bytes:
    return _encoder.encode((int(cc.op), cc.node_id, cc.address))


def decode_conf_change(buf: bytes) -> ConfChange:
    try:
        op, node_id, address = _decoder.decode(buf)
        return ConfChange(ConfChangeOp(op), node_id, address)
    except (msgspec.DecodeError, ValueError, TypeError) as e:
        raise CodecError(f"malformed conf change: {e}") from e


def encode_snapshot_meta(s: SnapshotMeta) -> bytes:
    return _encoder.encode(_meta_fields(s))


def decode_snapshot_meta(buf: bytes) -> SnapshotMeta:
    try:
        return _meta_from(_decoder.decode(buf))
    except (msgspec.DecodeError, ValueError, TypeError) as e:
        raise CodecError(f"malformed snapshot meta: {e}") from e


def encode_hard_state(h: HardState) -> bytes:
    return _encoder.encode((h.term, h.vote, h.commit))


def decode_hard_state(buf: bytes) -> HardState:
    try:
        term, vote, commit = _decoder.decode(buf)
        return HardState(term, vote, commit)
    except (msgspec.DecodeError, ValueError, TypeError) as e:
        raise CodecError(f"malformed hard state: {e}") from e


def batch_parts(raws: list) -> list:
    """The msgpack array of ``raws`` (what ``msgspec.msgpack.encode(raws)`` gives), as a list
    of pieces to write one after the other: the encoded messages themselves are not copied
    into one buffer. For batches holding a large message (a big entry), where each copy of
    it costs the event loop milliseconds. A message may itself be a list of pieces
    (``encode_message_parts``)."""
    parts = [_array_header(len(raws))]
    for raw in raws:
        if type(raw) is list:
            parts.append(_bin_header(sum(map(len, raw))))
            parts += raw
        else:
            parts.append(_bin_header(len(raw)))
            parts.append(raw)
    return parts


_raw_list = msgspec.msgpack.Decoder(list[msgspec.Raw])
_BIN_HEADER = {0xC4: 2, 0xC5: 3, 0xC6: 5}


def batch_views(body: bytes) -> list[memoryview]:
    """The messages of a batch (a msgpack array of byte strings), as views into ``body``
    rather than copies of it: for a batch holding a large message."""
    try:
        raws = _raw_list.decode(body)
    except msgspec.DecodeError as e:
        raise CodecError(f"malformed batch: {e}") from e
    out = []
    for raw in raws:
        view = memoryview(raw)
        skip = _BIN_HEADER.get(view[0]) if view else None
        if skip is None:
            raise CodecError("malformed batch: an element is not a byte string")
        out.append(view[skip:])
    return out
