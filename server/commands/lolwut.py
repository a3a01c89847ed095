"""LOLWUT: Redis's computer art, drawn as Redis 7.0 draws it, signed with Raftis's version.

``LOLWUT VERSION 5 [cols [squares-per-row [squares-per-col]]]`` is Georg Nees's "Schotter" in
braille characters (Redis's lolwut5.c), ``LOLWUT VERSION 6 [cols [rows]]`` a skyline in four
terminal grays (lolwut6.c); any other version, the default included, just names the version,
as Redis 7.0 does. The drawings are random (Python's generator where Redis calls rand()), so
only their parts that draw no random number can match Redis's byte for byte.
"""

from __future__ import annotations

import math
import random
from typing import Any

from resp.types import ErrorReply, Verbatim
from server.commands.arguments import string2ll
from server.commands.registry import CONN, command


def _version_line() -> str:
    from server.info import RAFTIS_VERSION

    return f"Raftis ver. {RAFTIS_VERSION}\n"


class Canvas:
    def __init__(self, width: int, height: int, color: int = 0) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray([color]) * (width * height)

    def draw(self, x: int, y: int, color: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = color

    def get(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

    def line(self, x1: int, y1: int, x2: int, y2: int, color: int) -> None:
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        while True:
            self.draw(x1, y1, color)
            if x1 == x2 and y1 == y2:
                break
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def square(self, x: int, y: int, size: float, angle: float, color: int) -> None:
        size = _c_round(size / 1.4142135623)
        k = math.pi / 4 + angle
        px, py = [], []
        for _ in range(4):
            px.append(int(_c_round(math.sin(k) * size + x)))
            py.append(int(_c_round(math.cos(k) * size + y)))
            k += math.pi / 2
        for j in range(4):
            self.line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color)


def _c_round(v: float) -> float:
    """C's round(): halves away from zero."""
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def _rand() -> int:
    return random.getrandbits(31)


_RAND_MAX = (1 << 31) - 1


def schotter(cols: int, per_row: int, per_col: int) -> Canvas:
    width = cols * 2
    padding = 2 if width > 4 else 0
    side = (width - padding * 2) / per_row
    canvas = Canvas(width, int(side * per_col + padding * 2))
    for y in range(per_col):
        for x in range(per_row):
            sx = int(x * side + side / 2 + padding)
            sy = int(y * side + side / 2 + padding)
            angle = 0.0
            if y > 1:
                r1 = _rand() / _RAND_MAX / per_col * y
                r2 = _rand() / _RAND_MAX / per_col * y
                r3 = _rand() / _RAND_MAX / per_col * y
                if _rand() % 2:
                    r1 = -r1
                if _rand() % 2:
                    r2 = -r2
                if _rand() % 2:
                    r3 = -r3
                angle = r1
                sx += int(r2 * side / 3)
                sy += int(r3 * side / 3)
            canvas.square(sx, sy, side, angle, 1)
    return canvas


def render_braille(canvas: Canvas) -> str:
    out = []
    get = canvas.get
    for y in range(0, canvas.height, 4):
        row = []
        for x in range(0, canvas.width, 2):
            byte = (get(x, y) | get(x, y + 1) << 1 | get(x, y + 2) << 2 | get(x + 1, y) << 3
                    | get(x + 1, y + 1) << 4 | get(x + 1, y + 2) << 5 | get(x, y + 3) << 6 | get(x + 1, y + 3) << 7)
            row.append(chr(0x2800 + byte))
        out.append("".join(row))
        if y != canvas.height - 1:
            out.append("\n")
    return "".join(out)


def _skyscraper(canvas: Canvas, xoff: int, width: int, height: int, windows: bool, color: int) -> None:
    starty = canvas.height - 1
    endy = starty - height + 1
    for y in range(starty, endy - 1, -1):
        for x in range(xoff, xoff + width):
            if y == endy and (x <= xoff + 1 or x >= xoff + width - 2):
                continue  # the roof is four pixels narrower
            c = color
            if windows and xoff + 1 < x < xoff + width - 2 and endy + 1 < y < starty - 1:
                relx, rely = x - (xoff + 1), y - (endy + 1)
                if (relx // 2) % 2 and rely % 2:
                    while True:
                        c = 1 + _rand() % 2
                        if c != color:
                            break
                    if relx % 2:
                        c = canvas.get(x - 1, y)
            canvas.draw(x, y, c)


def skyline(cols: int, rows: int) -> Canvas:
    canvas = Canvas(cols, rows, 3)
    h = canvas.height
    for color in (2, 1):
        offset = -10
        while offset < canvas.width:
            offset += _rand() % 8
            width = 10 + _rand() % 9
            height = h // 2 + (_rand() % h) // 2 if color == 2 else h // 2 + (_rand() % h) // 3
            _skyscraper(canvas, offset, width, height, False, color)
            offset += width // 2 if color == 2 else width + 1
    offset = -10
    while offset < canvas.width:
        offset += _rand() % 8
        width = 5 + _rand() % 14
        if width % 4:
            width += width % 3
        height = h // 3 + (_rand() % h) // 2
        _skyscraper(canvas, offset, width, height, True, 0)
        offset += width + 5
    return canvas


_GRAYS = ("0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m")


def render_grays(canvas: Canvas) -> str:
    out = []
    for y in range(canvas.height):
        out.append("".join(f"\033[{_GRAYS[canvas.get(x, y)]} \033[0m" for x in range(canvas.width)))
        if y != canvas.height - 1:
            out.append("\n")
    return "".join(out)


def _longs(args: list[bytes], defaults: list[int]) -> list[int]:
    values = list(defaults)
    for i, a in enumerate(args[: len(defaults)]):
        v = string2ll(a)
        if v is None or not -(1 << 63) <= v < (1 << 63):
            raise ErrorReply("ERR value is not an integer or out of range")
        values[i] = v
    return values


def _clamp(v: int, hi: int) -> int:
    return min(max(v, 1), hi)


@command("lolwut", -1, "readonly fast", kind=CONN, group="server", since="5.0.0")
def lolwut(session: Any, argv: list[bytes]) -> Any:
    """Display some computer art and the Raftis version"""
    args = argv[1:]
    version = None
    if len(argv) >= 3 and argv[1].lower() == b"version":
        v = string2ll(argv[2])
        if v is None or not -(1 << 63) <= v < (1 << 63):
            return ErrorReply("ERR value is not an integer or out of range")
        version = v & 0xFFFFFFFF  # Redis prints it with %u
        args = argv[3:]
    if version == 5:
        cols, per_row, per_col = _longs(args, [66, 8, 12])
        art = render_braille(schotter(_clamp(cols, 1000), _clamp(per_row, 200), _clamp(per_col, 200)))
        text = art + "\nGeorg Nees - schotter, plotter on paper, 1968. " + _version_line()
    elif version == 6:
        cols, rows = _longs(args, [80, 20])
        art = render_grays(skyline(_clamp(cols, 1000), _clamp(rows, 1000)))
        text = (art + "\nDedicated to the 8 bit game developers of past and present.\n"
                "Original 8 bit image from Plaguemon by hikikomori. " + _version_line())
    else:
        text = _version_line()
    return Verbatim(b"txt", text.encode())
