"""Client requests from bytes, sans-I/O: ``feed(data)`` then ``get_commands()``.

The rules are Redis 7.0's (``processInputBuffer`` in networking.c):

- A request starting with ``*`` is a multibulk: ``*<count>\\r\\n`` then ``count`` bulk strings
  ``$<len>\\r\\n<bytes>\\r\\n``.  ``count <= 0`` is skipped silently.  Each element must be a
  ``$`` bulk (the reply-only types of RESP are errors).  Lengths are parsed like ``string2ll``:
  no sign other than ``-``, no leading zeros, no spaces.  The two bytes after a bulk's payload
  are skipped without looking at them, as Redis does.
- Anything else is an inline command: a line ending in ``\\n`` (a preceding ``\\r`` is
  dropped) split like ``sdssplitargs`` (blanks, "double quotes" with ``\\xHH``/``\\n``-style
  escapes, 'single quotes').  Empty lines are ignored.
- Limits: a bulk longer than ``max_bulk_len`` (proto-max-bulk-len, 512 MB) or a count above
  ``max_multibulk_len`` (INT_MAX in Redis 7.0) is an error as soon as its header arrives, so a
  hostile header never makes us buffer gigabytes; a header or inline line still without its
  newline after ``max_inline_len`` (64 KB) bytes is an error too.

Errors raise ``ProtocolError`` whose ``message`` is Redis's text; the connection then replies
``-ERR <message>`` and closes.  Commands completed before the bad bytes in the same call are in
the exception's ``commands``: run them first, as Redis would have.  The parser is dead after
an error.

Speed: the complete well-formed multibulk commands in the buffer are parsed by hiredis's
C reader in one pass; each result is checked against the buffer (every element header is a
``$``, lengths as hiredis read them), which keeps our position exact without a Python-level
scan.  Anything unusual (inline, skipped empty multibulks, bad input, the incomplete tail) goes
through the Python state machine, which resumes where it stopped on the next call and waits
for a pending large bulk without rescanning.
"""

from __future__ import annotations

import hiredis

__all__ = ["ProtocolError", "RequestParser", "split_args"]

PROTO_MAX_BULK_LEN = 512 * 1024 * 1024
PROTO_MAX_MULTIBULK_LEN = 2**31 - 1  # Redis 7.0: "invalid multibulk length" above INT_MAX
PROTO_INLINE_MAX_SIZE = 64 * 1024

_LLONG_MIN = -(2**63)
_LLONG_MAX = 2**63 - 1

# Bytes a canonical header takes: "$<n>\r\n" is 3 + digits(n).
_HEADER_LEN = [3 + len(str(i)) for i in range(4096)]
# Bytes a canonical bulk string of n bytes takes, header and CRLF included.
_BULK_LEN = [h + i + 2 for i, h in enumerate(_HEADER_LEN)]

# hiredis allocates an aggregate's whole list as soon as it reads the header, and freeing a
# reader holding a half-read "*2000000000" takes many seconds.  So hiredis never sees a
# '*' (or RESP3 '~', '>', '|') followed by six digits or more: the bytes from there on go
# through the Python state machine, which allocates only for elements that arrived.
# Found as "*000000" in a copy of the buffer where every digit reads "0" and every aggregate
# marker "*": a translation and a find cost a third of a regular expression's search on one
# small request, and a quarter on a pipeline.
_MARKED = bytes.maketrans(b"0123456789~>|", b"0000000000***")
_BIG_MARKED = b"*000000"


class ProtocolError(Exception):
    """Malformed request.  ``message`` is Redis's text (reply ``-ERR <message>``, then close);
    ``commands`` are complete commands parsed before the error in the same call."""

    def __init__(self, message: str, commands: list[list[bytes]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.commands = commands if commands is not None else []


def string2ll(s: bytes | bytearray) -> int | None:
    """Redis's ``string2ll``: optional '-', then digits without leading zeros, fitting in a
    signed 64-bit integer; ``None`` when the text is not exactly that."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    if s[0] == 45:  # '-'
        if n == 1 or s[1] == 48 or not s[1:].isdigit():
            return None
        v = -int(s[1:])
        return v if v >= _LLONG_MIN else None
    if not s.isdigit() or (s[0] == 48 and n > 1):
        return None
    v = int(s)
    return v if v <= _LLONG_MAX else None


_SPACE = frozenset(b" \t\n\r\v\f")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def split_args(line: bytes) -> list[bytes] | None:
    """``sdssplitargs``: split an inline command line; ``None`` for unbalanced quotes.

    The line is a C string to Redis, so it ends at the first NUL byte.
    """
    z = line.find(b"\0")
    if z >= 0:
        line = line[:z]
    if b'"' not in line and b"'" not in line and b"\v" not in line and b"\f" not in line:
        return line.split()  # the same blanks as sdssplitargs when no \v or \f is present
    args: list[bytes] = []
    n = len(line)
    i = 0
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            c = line[i] if i < n else 0
            if inq:
                if (
                    c == 92
                    and i + 3 < n
                    and line[i + 1] == 120
                    and line[i + 2] in _HEX
                    and line[i + 3] in _HEX
                ):
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n:
                    i += 1
                    e = line[i]
                    cur.append(_ESCAPES.get(e, e))
                elif c == 34:  # closing '"' must be followed by a blank or the end
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    i += 1
                    break
                elif i >= n:
                    return None
                else:
                    cur.append(c)
            elif insq:
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    cur.append(39)
                elif c == 39:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    i += 1
                    break
                elif i >= n:
                    return None
                else:
                    cur.append(c)
            else:
                if i >= n or c in (32, 10, 13, 9):
                    i += 1
                    break
                if c == 34:
                    inq = True
                elif c == 39:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        args.append(bytes(cur))


class RequestParser:
    """Incremental request parser for one client connection (see the module docstring)."""

    __slots__ = (
        "_buf",
        "_need",
        "_argv",
        "_remaining",
        "_bulklen",
        "_partial_bytes",
        "_error",
        "_reader",
        "max_bulk_len",
        "max_multibulk_len",
        "max_inline_len",
    )

    def __init__(
        self,
        max_bulk_len: int = PROTO_MAX_BULK_LEN,
        max_multibulk_len: int = PROTO_MAX_MULTIBULK_LEN,
        max_inline_len: int = PROTO_INLINE_MAX_SIZE,
    ) -> None:
        self.max_bulk_len = max_bulk_len
        self.max_multibulk_len = max_multibulk_len
        self.max_inline_len = max_inline_len
        self._buf = bytearray()
        # get_commands() does nothing until the buffer holds this many bytes (a pending bulk).
        self._need = 0
        # The multibulk being read by the Python state machine: argv so far (None when idle),
        # elements still to read, and the length of the pending bulk (-1: header not read yet).
        self._argv: list[bytes] | None = None
        self._remaining = 0
        self._bulklen = -1
        self._partial_bytes = 0
        self._error: ProtocolError | None = None
        # A hiredis reader known to hold no bytes, kept for the next call (creating one costs
        # about a microsecond, as much as parsing a small command).
        self._reader: hiredis.Reader | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes held for incomplete requests (compare with a query buffer limit)."""
        return len(self._buf) + self._partial_bytes

    @property
    def idle(self) -> bool:
        """True when no partial request is held."""
        return not self._buf and self._argv is None

    def parse(self, data: bytes) -> list[list[bytes]]:
        """``feed(data)`` then ``get_commands()``. When nothing is buffered and ``data``
        starts with whole commands, those are parsed straight from ``data`` (no copy into the
        buffer): the common case of a client sending one request, or a pipeline, at a time."""
        if self._buf or self._argv is not None or self._error is not None or not data or data[0] != 42:
            self._buf += data
            return self.get_commands()
        out: list[list[bytes]] = []
        n = len(data)
        pos = self._fast(data, 0, n, out)  # type: ignore[arg-type]
        if pos == n:
            return out
        self._buf += memoryview(data)[pos:]
        try:
            out += self.get_commands()
        except ProtocolError as e:
            e.commands = out + e.commands
            raise
        return out

    def get_commands(self) -> list[list[bytes]]:
        """Every complete command in the buffer, in order (possibly none)."""
        if self._error is not None:
            raise ProtocolError(self._error.message)
        buf = self._buf
        n = len(buf)
        if n < self._need:
            return []
        out: list[list[bytes]] = []
        pos = 0
        marked = None
        try:
            while pos < n:
                if self._argv is None:
                    c = buf[pos]
                    if c == 42:  # '*'
                        if marked is None:
                            marked = buf.translate(_MARKED)
                        pos = self._fast(buf, pos, n, out, marked)
                        if pos >= n:
                            break
                        if buf[pos] != 42:
                            continue
                        pos, done = self._multibulk(buf, pos, n, out)
                    else:
                        pos, done = self._inline(buf, pos, n, out)
                else:
                    pos, done = self._multibulk(buf, pos, n, out)
                if not done:
                    break
        except ProtocolError as e:
            self._error = e
            self._buf = bytearray()
            self._argv = None
            e.commands = out
            raise
        if pos:
            del buf[:pos]  # O(1) for a bytearray prefix
            if self._need:
                self._need -= pos
        return out

    def _fast(self, buf: bytearray, pos: int, n: int, out: list[list[bytes]],
              marked: bytes | bytearray | None = None) -> int:
        """Complete canonical multibulks from ``pos`` via hiredis; returns where it stopped.
        ``marked`` is ``buf.translate(_MARKED)`` if the caller has it already."""
        if marked is None:
            marked = buf.translate(_MARKED)
        limit = marked.find(_BIG_MARKED, pos)
        if limit < 0:
            limit = n
        elif limit <= pos:
            return pos
        reader = self._reader
        self._reader = None
        if reader is None:
            reader = hiredis.Reader()
        reader.feed(buf, pos, limit - pos)  # type: ignore[arg-type]  # any buffer works; the stub says bytes
        gets = reader.gets
        maxb = self.max_bulk_len
        small = 4096 if maxb >= 4096 else maxb + 1  # lengths the table covers and the limit allows
        hl = _HEADER_LEN
        bl = _BULK_LEN
        while pos < limit and buf[pos] == 42:
            try:
                cmd = gets()
            except hiredis.ProtocolError:
                return pos
            if type(cmd) is not list or not cmd:
                return pos
            k = len(cmd)
            p = pos + (hl[k] if k < 4096 else 3 + len(str(k)))
            # Each element must have been a bulk string ("$"): hiredis also reads "+", "=" and
            # "(" as bytes, which Redis refuses in a request. A "$-1" gave None: len() raises.
            try:
                for a in cmd:
                    if buf[p] != 36:
                        return pos
                    m = len(a)
                    if m < small:
                        p += bl[m]
                    elif m > maxb or type(a) is not bytes:
                        return pos
                    else:
                        p += 3 + len(str(m)) + m + 2
            except TypeError:
                return pos
            out.append(cmd)
            pos = p
        if pos == limit:
            # hiredis consumed exactly what it was given: it holds nothing, reuse it.
            self._reader = reader
        return pos

    def _multibulk(self, buf: bytearray, pos: int, n: int, out: list[list[bytes]]) -> tuple[int, bool]:
        """Redis's processMultibulkBuffer, resumable.  Returns (position, command complete)."""
        if self._argv is None:
            nl = buf.find(b"\r", pos)
            if nl < 0:
                if n - pos > self.max_inline_len:
                    raise ProtocolError("Protocol error: too big mbulk count string")
                return pos, False
            if nl > n - 2:
                return pos, False
            count = string2ll(buf[pos + 1 : nl])
            if count is None or count > self.max_multibulk_len:
                raise ProtocolError("Protocol error: invalid multibulk length")
            pos = nl + 2
            if count <= 0:
                return pos, True
            self._argv = []
            self._remaining = count
            self._bulklen = -1
        argv = self._argv
        while self._remaining:
            if self._bulklen < 0:
                nl = buf.find(b"\r", pos)
                if nl < 0:
                    if n - pos > self.max_inline_len:
                        raise ProtocolError("Protocol error: too big bulk count string")
                    return pos, False
                if nl > n - 2:
                    return pos, False
                if buf[pos] != 36:
                    got = bytes(buf[pos : pos + 1]).decode("utf-8", "surrogateescape")
                    raise ProtocolError(f"Protocol error: expected '$', got '{got}'")
                ll = string2ll(buf[pos + 1 : nl])
                if ll is None or ll < 0 or ll > self.max_bulk_len:
                    raise ProtocolError("Protocol error: invalid bulk length")
                pos = nl + 2
                self._bulklen = ll
            bl = self._bulklen
            if n - pos < bl + 2:
                self._need = pos + bl + 2
                return pos, False
            if bl < 65536:
                argv.append(bytes(buf[pos : pos + bl]))
            else:  # one copy, not a bytearray slice and then its bytes
                with memoryview(buf) as view:
                    argv.append(bytes(view[pos : pos + bl]))
            self._partial_bytes += bl
            pos += bl + 2
            self._bulklen = -1
            self._remaining -= 1
        self._need = 0
        self._argv = None
        self._partial_bytes = 0
        out.append(argv)
        return pos, True

    def _inline(self, buf: bytearray, pos: int, n: int, out: list[list[bytes]]) -> tuple[int, bool]:
        """Redis's processInlineBuffer.  Returns (position, line complete)."""
        nl = buf.find(b"\n", pos)
        # Redis looks for the newline with strchr, which stops at a NUL byte.
        if nl < 0 or buf.find(b"\0", pos, nl) >= 0:
            if n - pos > self.max_inline_len:
                raise ProtocolError("Protocol error: too big inline request")
            return pos, False
        end = nl - 1 if nl != pos and buf[nl - 1] == 13 else nl
        argv = split_args(bytes(buf[pos:end]))
        if argv is None:
            raise ProtocolError("Protocol error: unbalanced quotes in request")
        if argv:
            out.append(argv)
        return nl + 1, True
