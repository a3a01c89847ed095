"""Redis's glob matching (``stringmatchlen`` in util.c) for KEYS, SCAN MATCH, CONFIG GET, ...

``*``, ``?``, ``[abc]``, ``[^a-z]``, ``[a-]`` and ``\\`` escapes, with Redis's quirks kept:
an unterminated ``[`` matches up to the end of the pattern, ranges may be reversed
(``[z-a]``), and range bounds compare as C's signed chars (a byte >= 0x80 is below ``a``).
``compile_glob`` returns a predicate and picks a shortcut for the common shapes (``*``,
literal, ``prefix*``).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["compile_glob", "glob_match"]

_SPECIAL = b"*?[\\"


def _sc(c: int) -> int:
    return c - 256 if c >= 128 else c


def glob_match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    if nocase:
        pattern = pattern.lower()
        string = string.lower()
    skip = [False]
    return _match(pattern, 0, string, 0, skip)


def _match(p: bytes, pi: int, s: bytes, si: int, skip: list[bool]) -> bool:
    plen = len(p)
    slen = len(s)
    while pi < plen and si < slen:
        c = p[pi]
        if c == 42:  # '*'
            while pi + 1 < plen and p[pi + 1] == 42:
                pi += 1
            if pi + 1 == plen:
                return True
            while si < slen:
                if _match(p, pi + 1, s, si, skip):
                    return True
                if skip[0]:
                    return False
                si += 1
            skip[0] = True
            return False
        elif c == 63:  # '?'
            si += 1
        elif c == 91:  # '['
            pi += 1
            negate = pi < plen and p[pi] == 94
            if negate:
                pi += 1
            matched = False
            sc = s[si]
            while True:
                if pi < plen and p[pi] == 92 and plen - pi >= 2:
                    pi += 1
                    if p[pi] == sc:
                        matched = True
                elif pi < plen and p[pi] == 93:
                    break
                elif pi >= plen:
                    pi -= 1
                    break
                elif plen - pi >= 3 and p[pi + 1] == 45:
                    start, end = _sc(p[pi]), _sc(p[pi + 2])
                    if start > end:
                        start, end = end, start
                    pi += 2
                    if start <= _sc(sc) <= end:
                        matched = True
                elif p[pi] == sc:
                    matched = True
                pi += 1
            if negate:
                matched = not matched
            if not matched:
                return False
            si += 1
        else:
            if c == 92 and plen - pi >= 2:
                pi += 1
                c = p[pi]
            if c != s[si]:
                return False
            si += 1
        pi += 1
        if si == slen:
            while pi < plen and p[pi] == 42:
                pi += 1
            break
    return pi == plen and si == slen


def compile_glob(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A predicate ``f(string) -> bool`` equivalent to ``glob_match(pattern, string)``."""
    if pattern == b"*":
        return lambda s: True
    if nocase:
        return lambda s: glob_match(pattern, s, True)
    if not any(ch in pattern for ch in (b"*", b"?", b"[", b"\\")):
        return pattern.__eq__
    body = pattern[:-1]
    if pattern.endswith(b"*") and not any(ch in body for ch in (b"*", b"?", b"[", b"\\")):
        return lambda s: s.startswith(body)
    return lambda s: _match(pattern, 0, s, 0, [False])
