"""LCS: the longest common subsequence of two strings (Redis 7.0's ``lcsCommand``), its length,
or the matching ranges.

Redis fills the whole dynamic-programming table, LCS(i, j) for every pair of prefixes, then
walks back from the end: on equal bytes it takes the byte (a match extends the current range
when it is contiguous), otherwise it steps to the larger of LCS(i-1, j) and LCS(i, j-1),
towards j-1 on a tie.  Ranges come out from the strings' ends towards their starts.

The same table is held here as bit vectors (Hyyrö's bit-parallel LCS): the row for one
prefix of the longer string is an integer whose bit k is clear where the table grows from
column k to k+1, so LCS(i, j) is a count of bits and a row costs a few big-integer
operations instead of one Python step per cell.  The walk and its tie-breaks are Redis's, so
the subsequence and ranges are byte for byte the same.

Limits: Redis refuses a table of more than proto-max-bulk-len bytes (4 per cell); so does
this.  Raftis also refuses two non-empty strings longer than ``MAX_TOTAL`` bytes together
(building the table and the walk are a Python step per byte of the longer string: about 0.2 s
and 50 MB at the limit), which Redis would answer; the error says so.
"""

from __future__ import annotations

from resp.types import ErrorReply, Map
from server import errors
from server.commands.arguments import parse_int
from server.commands.context import ExecContext, lookup_read
from server.commands.registry import READ, command

NOT_STRINGS = ErrorReply("ERR The specified keys must contain string values")
LEN_AND_IDX = ErrorReply("ERR If you want both the length and indexes, please just use IDX.")
TABLE_TOO_BIG = ErrorReply("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
# Redis's default proto-max-bulk-len (512 MB), the bound on its table.
PROTO_MAX_BULK_LEN = 512 * 1024 * 1024
MAX_TOTAL = 1_000_000
TOO_LONG = ErrorReply(f"ERR Strings too long for LCS (more than {MAX_TOTAL} bytes together)")


class _Table:
    """LCS(i, j) for prefixes ``a[:i]`` and ``b[:j]``, as one bit vector per prefix of the
    longer string over the bytes of the shorter one."""

    __slots__ = ("rows", "by_a")

    def __init__(self, a: bytes, b: bytes) -> None:
        self.by_a = len(a) >= len(b)
        outer, inner = (a, b) if self.by_a else (b, a)
        width = len(inner)
        full = (1 << width) - 1
        where: dict[int, int] = {}
        for k, byte in enumerate(inner):
            where[byte] = where.get(byte, 0) | (1 << k)
        v = full
        rows = [v]
        for byte in outer:
            u = v & where.get(byte, 0)
            v = ((v + u) | (v - u)) & full
            rows.append(v)
        self.rows = rows

    def __call__(self, i: int, j: int) -> int:
        if not self.by_a:
            i, j = j, i
        return j - (self.rows[i] & ((1 << j) - 1)).bit_count()


def _strings(ctx: ExecContext, argv: list[bytes]) -> tuple[bytes, bytes]:
    a = lookup_read(ctx, argv[1])
    b = lookup_read(ctx, argv[2])
    if (a is not None and type(a) is not bytes) or (b is not None and type(b) is not bytes):
        raise NOT_STRINGS
    return a or b"", b or b""


@command("lcs", -3, "readonly", 1, 2, 1, READ, group="string", since="7.0.0",
         summary="Find longest common substring")
def lcs(ctx: ExecContext, argv: list[bytes]):
    a, b = _strings(ctx, argv)
    get_len = get_idx = with_match_len = False
    min_match_len = 0
    j, n = 3, len(argv)
    while j < n:
        opt = argv[j].lower()
        if opt == b"idx":
            get_idx = True
        elif opt == b"len":
            get_len = True
        elif opt == b"withmatchlen":
            with_match_len = True
        elif opt == b"minmatchlen" and j < n - 1:
            min_match_len = max(parse_int(argv[j + 1]), 0)
            j += 1
        else:
            raise errors.SYNTAX
        j += 1
    if get_len and get_idx:
        raise LEN_AND_IDX
    alen, blen = len(a), len(b)
    if (alen + 1) * (blen + 1) * 4 > PROTO_MAX_BULK_LEN:
        raise TABLE_TOO_BIG
    if alen + blen > MAX_TOTAL and alen and blen:
        raise TOO_LONG

    table = _Table(a, b)
    length = table(alen, blen)
    if get_len:
        return length

    out = bytearray(length)
    idx = length
    ranges: list[list[object]] = []
    unset = alen  # Redis marks "no range yet" with alen
    a_start, a_end, b_start, b_end = unset, 0, 0, 0
    i, j = alen, blen
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            out[idx - 1] = a[i - 1]
            if a_start == unset:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1  # contiguous: the range grows backwards
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if table(i - 1, j) > table(i, j - 1):
                i -= 1
            else:
                j -= 1
            if a_start != unset:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if get_idx and (min_match_len == 0 or match_len >= min_match_len):
                item: list[object] = [[a_start, a_end], [b_start, b_end]]
                if with_match_len:
                    item.append(match_len)
                ranges.append(item)
            a_start = unset
    if get_idx:
        return Map([(b"matches", ranges), (b"len", length)])
    return bytes(out)
