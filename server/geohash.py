"""Redis's geohash arithmetic (geohash.c, geohash_helper.c), for the GEO commands.

A position is stored as a sorted-set score: the longitude and latitude, each scaled to 26
bits over its range (longitude -180..180, latitude -85.05112878..85.05112878, the Web
Mercator limits), interleaved into a 52-bit integer (latitude in the even bits).  A search
covers its shape with the geohash box that holds the centre at a step (bits per axis) fitted
to the radius, plus that box's eight neighbours; each box is one score range of the sorted
set.

Everything here is double arithmetic in the order Redis's C does it, and ``math``'s sin, cos,
asin and sqrt are the C library's, so positions, distances and the boxes scanned are Redis's
to the last bit.  Integers are masked to C's widths (uint32, uint64) where the C code relies
on them wrapping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "LAT_MAX",
    "LAT_MIN",
    "LONG_MAX",
    "LONG_MIN",
    "STEP_MAX",
    "Shape",
    "decode_score",
    "distance",
    "encode",
    "search_boxes",
    "standard_geohash",
]

STEP_MAX = 26
LAT_MIN = -85.05112878
LAT_MAX = 85.05112878
LONG_MIN = -180.0
LONG_MAX = 180.0

EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37
_D_R = math.pi / 180.0

_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1
_EVEN = 0x5555555555555555
_ODD = 0xAAAAAAAAAAAAAAAA


def _interleave64(xlo: int, ylo: int) -> int:
    """Bits of ``xlo`` in the even positions, of ``ylo`` in the odd ones (both uint32)."""
    x, y = xlo & _U32, ylo & _U32
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F),
                        (2, 0x3333333333333333), (1, _EVEN)):
        x = ((x | (x << shift)) & _U64) & mask
        y = ((y | (y << shift)) & _U64) & mask
    return (x | (y << 1)) & _U64


def _deinterleave64(interleaved: int) -> int:
    """The even bits in the low half, the odd bits in the high half."""
    x = interleaved & _U64
    y = interleaved >> 1
    for shift, mask in ((0, _EVEN), (1, 0x3333333333333333), (2, 0x0F0F0F0F0F0F0F0F), (4, 0x00FF00FF00FF00FF),
                        (8, 0x0000FFFF0000FFFF), (16, 0x00000000FFFFFFFF)):
        x = (x | (x >> shift)) & mask
        y = (y | (y >> shift)) & mask
    return (x | (y << 32)) & _U64


def encode(longitude: float, latitude: float, step: int = STEP_MAX,
           lat_min: float = LAT_MIN, lat_max: float = LAT_MAX) -> int:
    """``geohashEncode``: the ``2 * step``-bit hash of a position already checked to be within
    Redis's limits (``lat_min``/``lat_max`` differ only for GEOHASH's standard string)."""
    lat_offset = (latitude - lat_min) / (lat_max - lat_min)
    long_offset = (longitude - LONG_MIN) / (LONG_MAX - LONG_MIN)
    lat_offset *= float(1 << step)
    long_offset *= float(1 << step)
    return _interleave64(int(lat_offset), int(long_offset))


def score_of(longitude: float, latitude: float) -> int:
    """The sorted-set score GEOADD stores (``geohashAlign52Bits`` of the step-26 hash)."""
    return encode(longitude, latitude) << (52 - STEP_MAX * 2)


@dataclass(slots=True)
class Area:
    long_min: float
    long_max: float
    lat_min: float
    lat_max: float


def _area(bits: int, step: int) -> Area:
    """``geohashDecode``: the box a hash names."""
    sep = _deinterleave64(bits)
    ilato = sep & _U32
    ilono = (sep >> 32) & _U32
    lat_scale = LAT_MAX - LAT_MIN
    long_scale = LONG_MAX - LONG_MIN
    div = float(1 << step)
    return Area(
        LONG_MIN + (ilono * 1.0 / div) * long_scale,
        LONG_MIN + (((ilono + 1) & _U32) * 1.0 / div) * long_scale,
        LAT_MIN + (ilato * 1.0 / div) * lat_scale,
        LAT_MIN + (((ilato + 1) & _U32) * 1.0 / div) * lat_scale,
    )


def _to_uint64(score: float) -> int:
    """C's ``(uint64_t)score`` as x86-64 compiles it (truncation; out of range gives what the
    instructions give, since a geo key may hold any score ZADD put there)."""
    if score != score:
        return 1 << 63
    if score >= 2.0**63:
        if score >= 2.0**64:
            return 0
        return int(score - 2.0**63) ^ (1 << 63)
    if score <= -(2.0**63) - 1:
        return 1 << 63
    return int(score) & _U64


def decode_score(score: float) -> tuple[float, float]:
    """``decodeGeohash``: the (longitude, latitude) at the centre of a score's box, clamped to
    the limits."""
    a = _area(_to_uint64(score), STEP_MAX)
    lon = (a.long_min + a.long_max) / 2
    lon = min(max(lon, LONG_MIN), LONG_MAX)
    lat = (a.lat_min + a.lat_max) / 2
    lat = min(max(lat, LAT_MIN), LAT_MAX)
    return lon, lat


def standard_geohash(score: float) -> bytes:
    """GEOHASH's 11-character string: the position re-encoded over the standard latitude range
    (-90..90); the 11th character stands for bits Redis does not have (always '0')."""
    alphabet = b"0123456789bcdefghjkmnpqrstuvwxyz"
    lon, lat = decode_score(score)
    bits = encode(lon, lat, STEP_MAX, -90.0, 90.0)
    out = bytearray(alphabet[(bits >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10))
    out.append(alphabet[0])
    return bytes(out)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """``geohashGetDistance``: the haversine great-circle distance in meters."""
    lat1r = lat1 * _D_R
    lon1r = lon1 * _D_R
    lat2r = lat2 * _D_R
    lon2r = lon2 * _D_R
    u = math.sin((lat2r - lat1r) / 2)
    v = math.sin((lon2r - lon1r) / 2)
    root = math.sqrt(u * u + math.cos(lat1r) * math.cos(lat2r) * v * v)
    # Should rounding ever take nearly antipodal points past 1, C's asin gives NaN (and the
    # point counts as inside any radius) where Python's raises.
    return 2.0 * EARTH_RADIUS_IN_METERS * (math.asin(root) if root <= 1.0 else math.nan)


@dataclass(slots=True)
class Shape:
    """A search area (``GeoShape``): a circle of ``radius`` or a ``width`` x ``height`` box, in
    the unit whose length in meters is ``conversion``, centred on (``lon``, ``lat``)."""

    lon: float
    lat: float
    conversion: float
    radius: float | None = None
    width: float = 0.0
    height: float = 0.0

    def distance_if_inside(self, lon: float, lat: float) -> float | None:
        """The point's distance from the centre in meters, or None when it is outside
        (``geohashGetDistanceIfInRadiusWGS84`` / ``geohashGetDistanceIfInRectangle``)."""
        if self.radius is not None:
            d = distance(self.lon, self.lat, lon, lat)
            return None if d > self.radius * self.conversion else d
        width_m = self.width * self.conversion
        height_m = self.height * self.conversion
        lon_distance = distance(lon, lat, self.lon, lat)
        lat_distance = distance(lon, lat, lon, self.lat)
        if lon_distance > width_m / 2 or lat_distance > height_m / 2:
            return None
        return distance(self.lon, self.lat, lon, lat)


def _estimate_steps(range_meters: float, lat: float) -> int:
    """``geohashEstimateStepsByRadius``."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2  # so that the range is covered in most cases
    if lat > 66 or lat < -66:  # wider boxes towards the poles
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), 26)


def _cos(x: float) -> float:
    """C's cos: NaN for an infinity (a radius of ``inf`` reaches here), where Python raises."""
    return math.cos(x) if math.isfinite(x) else math.nan


def _bounding_box(shape: Shape) -> tuple[float, float, float, float]:
    """``geohashBoundingBox``: (min long, min lat, max long, max lat) of the search area."""
    lon, lat = shape.lon, shape.lat
    if shape.radius is not None:
        height = shape.conversion * shape.radius
        width = shape.conversion * shape.radius
    else:
        height = shape.conversion * (shape.height / 2)
        width = shape.conversion * (shape.width / 2)
    lat_delta = (height / EARTH_RADIUS_IN_METERS) / _D_R
    long_delta_top = (width / EARTH_RADIUS_IN_METERS / _cos((lat + lat_delta) * _D_R)) / _D_R
    long_delta_bottom = (width / EARTH_RADIUS_IN_METERS / _cos((lat - lat_delta) * _D_R)) / _D_R
    delta = long_delta_bottom if lat < 0 else long_delta_top
    return lon - delta, lat - lat_delta, lon + delta, lat + lat_delta


def _move_x(bits: int, step: int, d: int) -> int:
    x = bits & _ODD
    y = bits & _EVEN
    zz = _EVEN >> (64 - step * 2)
    if d > 0:
        x = (x + (zz + 1)) & _U64
    else:
        x = ((x | zz) - (zz + 1)) & _U64
    x &= _ODD >> (64 - step * 2)
    return x | y


def _move_y(bits: int, step: int, d: int) -> int:
    x = bits & _ODD
    y = bits & _EVEN
    zz = _ODD >> (64 - step * 2)
    if d > 0:
        y = (y + (zz + 1)) & _U64
    else:
        y = ((y | zz) - (zz + 1)) & _U64
    y &= _EVEN >> (64 - step * 2)
    return x | y


def _neighbours(bits: int, step: int) -> dict[str, int]:
    """``geohashNeighbors``: longitude moves on the odd bits, latitude on the even ones."""
    east, west = _move_x(bits, step, 1), _move_x(bits, step, -1)
    return {
        "north": _move_y(bits, step, 1),
        "south": _move_y(bits, step, -1),
        "east": east,
        "west": west,
        "north_east": _move_y(east, step, 1),
        "north_west": _move_y(west, step, 1),
        "south_east": _move_y(east, step, -1),
        "south_west": _move_y(west, step, -1),
    }


_ORDER = ("north", "south", "east", "west", "north_east", "north_west", "south_east", "south_west")


def search_boxes(shape: Shape) -> list[tuple[int, int]]:
    """``geohashCalculateAreasByShapeWGS84`` then ``membersOfAllNeighbors``: the score ranges
    ``[min, max)`` to scan, in Redis's order (centre, N, S, E, W, NE, NW, SE, SW), without the
    boxes Redis leaves out (outside the area, or the same as the one scanned just before)."""
    min_lon, min_lat, max_lon, max_lat = _bounding_box(shape)
    if shape.radius is not None:
        radius_meters = shape.radius
    else:
        radius_meters = math.sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2))
    radius_meters *= shape.conversion

    steps = _estimate_steps(radius_meters, shape.lat)
    bits = encode(shape.lon, shape.lat, steps)
    near = _neighbours(bits, steps)
    # A box next to the area's edge may leave part of it out at this step: one step coarser.
    if (_area(near["north"], steps).lat_max < max_lat or _area(near["south"], steps).lat_min > min_lat
            or _area(near["east"], steps).long_max < max_lon or _area(near["west"], steps).long_min > min_lon):
        if steps > 1:
            steps -= 1
            bits = encode(shape.lon, shape.lat, steps)
            near = _neighbours(bits, steps)
    area = _area(bits, steps)
    zeroed: set[str] = set()
    if steps >= 2:
        if area.lat_min < min_lat:
            zeroed.update(("south", "south_west", "south_east"))
        if area.lat_max > max_lat:
            zeroed.update(("north", "north_east", "north_west"))
        if area.long_min < min_lon:
            zeroed.update(("west", "south_west", "north_west"))
        if area.long_max > max_lon:
            zeroed.update(("east", "south_east", "north_east"))

    # A zeroed neighbour has bits 0 and step 0 (GZERO), which HASHISZERO skips.
    boxes: list[tuple[int, int]] = [(bits, steps)]
    boxes += [(0, 0) if name in zeroed else (near[name], steps) for name in _ORDER]
    ranges: list[tuple[int, int]] = []
    last = 0
    for i, (b, s) in enumerate(boxes):
        if b == 0 and s == 0:
            continue
        if last and boxes[last] == (b, s):
            continue  # a huge radius: neighbours may be the same box
        shift = 52 - s * 2
        ranges.append((b << shift, (b + 1) << shift))
        last = i
    return ranges
