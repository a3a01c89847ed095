"""Split a stream of RESP2/RESP3 replies into whole replies, without decoding them.

A node that relays a client's commands to the leader passes the leader's replies back
byte for byte; it only needs to know where each reply ends. Sans-I/O: ``feed(bytes)``
returns the complete replies found so far, in order.
"""

from __future__ import annotations


class FramingError(ValueError):
    pass


# Types whose payload is a single line.
_LINE = frozenset(b"+-:_#,(")
# Types followed by <length>\r\n<bytes>\r\n.
_BLOB = frozenset(b"$!=")
# Aggregates of <count> elements; maps and attributes count pairs.
_AGG = frozenset(b"*~>")
_PAIRS = frozenset(b"%|")
_ATTR = ord("|")


class ReplyFramer:
    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        while True:
            end = self._scan(buf, pos)
            if end < 0:
                break
            out.append(bytes(buf[pos:end]))
            pos = end
        if pos:
            del buf[:pos]
        return out

    @staticmethod
    def _scan(buf: bytearray, pos: int) -> int:
        """End offset of the reply starting at pos, or -1 if it is not complete yet."""
        pending = 1  # replies still to skip
        n = len(buf)
        while pending:
            if pos >= n:
                return -1
            t = buf[pos]
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return -1
            pending -= 1
            if t in _LINE:
                pos = eol + 2
            elif t in _BLOB:
                length = int(buf[pos + 1:eol])
                if length < 0:
                    pos = eol + 2
                else:
                    end = eol + 2 + length + 2
                    if end > n:
                        return -1
                    pos = end
            elif t in _AGG or t in _PAIRS:
                count = int(buf[pos + 1:eol])
                pos = eol + 2
                if count > 0:
                    pending += count * 2 if t in _PAIRS else count
                if t == _ATTR:
                    pending += 1  # an attribute map is followed by the reply it annotates
            else:
                raise FramingError(f"unexpected reply type byte {chr(t)!r}")
        return pos
