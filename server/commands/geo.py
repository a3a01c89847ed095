"""GEO commands (Redis 7.0's geo.c): positions kept in a sorted set whose scores are 52-bit
geohashes (``server.geohash``), so ZRANGE, ZREM and the rest work on a geo key as in Redis.

Replies are Redis's byte for byte: distances with ``%.4f``, coordinates as Redis's
``addReplyHumanLongDouble`` writes them (``%.17Lf`` without trailing zeros; a bulk string in
RESP2, a double in RESP3), the search's members in the order Redis's box scan finds them, or
sorted by distance: with ties kept in that order when all are returned (glibc 2.36's
``qsort``, which Redis calls, is a merge sort), and with COUNT by Redis's own partial
quicksort (``server.pqsort``), so that even the ties come out as Redis gives them.

GEORADIUS and GEORADIUSBYMEMBER are writes, as in Redis (their STORE option writes; whether
one does is in its arguments, and the command table routes by name), so every one goes
through the log; the ``_RO`` variants and GEOSEARCH are reads.  A search that stores its
result writes a sorted set, or deletes the destination when nothing matched.

Determinism: GEOADD's scores are exact arithmetic (one division and one multiplication per
axis), the same on every node.  Which members a search finds, and the distances STOREDIST
stores, come from the C library's sin, cos, asin and sqrt, as in Redis: nodes on the same C
library (the Docker image, or one distribution) agree bit for bit, but a cluster mixing C
libraries could disagree about a point exactly on a search's edge, or in the last bit of a
stored distance.
"""

from __future__ import annotations

from fractions import Fraction

from resp.types import NULL_ARRAY, ErrorReply, Raw
from server import errors, geohash
from server.commands.arguments import format_long_double, parse_float, parse_int
from server.commands.containers import read_typed
from server.commands.context import ExecContext
from server.commands.registry import READ, WRITE, command
from server.commands.zsets import _zadd
from server.geohash import Shape
from server.notify import GENERIC, NEW, ZSET
from server.pqsort import pqsort
from server.sortedset import ZSet

UNSUPPORTED_UNIT = ErrorReply("ERR unsupported unit provided. please use M, KM, FT, MI")
NO_MEMBER = ErrorReply("ERR could not decode requested zset member")
COUNT_POSITIVE = ErrorReply("ERR COUNT must be > 0")
ANY_NEEDS_COUNT = ErrorReply("ERR the ANY argument requires COUNT argument")
NEED_RADIUS = ErrorReply("ERR need numeric radius")
NEGATIVE_RADIUS = ErrorReply("ERR radius cannot be negative")
NEED_WIDTH = ErrorReply("ERR need numeric width")
NEED_HEIGHT = ErrorReply("ERR need numeric height")
NEGATIVE_BOX = ErrorReply("ERR height or width cannot be negative")

_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}


def _unit(arg: bytes) -> float:
    """``extractUnitOrReply``: meters per unit."""
    factor = _UNITS.get(arg.lower())
    if factor is None:
        raise UNSUPPORTED_UNIT
    return factor


def _lon_lat(lon_arg: bytes, lat_arg: bytes) -> tuple[float, float]:
    """``extractLongLatOrReply``."""
    lon, lat = parse_float(lon_arg), parse_float(lat_arg)
    if not (geohash.LONG_MIN <= lon <= geohash.LONG_MAX and geohash.LAT_MIN <= lat <= geohash.LAT_MAX):
        raise ErrorReply(f"ERR invalid longitude,latitude pair {lon:f},{lat:f}")
    return lon, lat


def _distance_reply(meters: float) -> bytes:
    return b"%.4f" % meters


def _coordinate(v: float) -> Raw:
    """``addReplyHumanLongDouble``."""
    text = format_long_double(Fraction(v))
    return Raw(b"$%d\r\n%b\r\n" % (len(text), text), b",%b\r\n" % text)


def _member_position(z: ZSet, member: bytes) -> tuple[float, float] | None:
    score = z.scores.get(member)
    return None if score is None else geohash.decode_score(score)


# --- GEOADD, GEOPOS, GEODIST, GEOHASH --------------------------------------------------------


@command("geoadd", -5, "write denyoom", 1, 1, 1, WRITE, group="geo", since="3.2.0",
         summary="Add one or more geospatial items in the geospatial index represented using a sorted set")
def geoadd(ctx: ExecContext, argv: list[bytes]):
    xx = nx = False
    i, n = 2, len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt != b"ch":
            break
        i += 1
    if (n - i) % 3 or (xx and nx):
        raise errors.SYNTAX
    zadd_argv = [b"zadd", *argv[1:i]]
    for j in range(i, n, 3):
        lon, lat = _lon_lat(argv[j], argv[j + 1])
        zadd_argv.append(b"%d" % geohash.score_of(lon, lat))
        zadd_argv.append(argv[j + 2])
    return _zadd(ctx, zadd_argv, False)


@command("geopos", -2, "readonly", 1, 1, 1, READ, group="geo", since="3.2.0",
         summary="Returns longitude and latitude of members of a geospatial index")
def geopos(ctx: ExecContext, argv: list[bytes]):
    z = read_typed(ctx, argv[1], ZSet)
    out: list[object] = []
    for member in argv[2:]:
        pos = None if z is None else _member_position(z, member)
        out.append(NULL_ARRAY if pos is None else [_coordinate(pos[0]), _coordinate(pos[1])])
    return out


@command("geodist", -4, "readonly", 1, 1, 1, READ, group="geo", since="3.2.0",
         summary="Returns the distance between two members of a geospatial index")
def geodist(ctx: ExecContext, argv: list[bytes]):
    to_meters = 1.0
    if len(argv) == 5:
        to_meters = _unit(argv[4])
    elif len(argv) > 5:
        raise errors.SYNTAX
    z = read_typed(ctx, argv[1], ZSet)
    if z is None:
        return None
    a = _member_position(z, argv[2])
    b = _member_position(z, argv[3])
    if a is None or b is None:
        return None
    return _distance_reply(geohash.distance(a[0], a[1], b[0], b[1]) / to_meters)


@command("geohash", -2, "readonly", 1, 1, 1, READ, group="geo", since="3.2.0",
         summary="Returns members of a geospatial index as standard geohash strings")
def geohash_(ctx: ExecContext, argv: list[bytes]):
    z = read_typed(ctx, argv[1], ZSet)
    out: list[object] = []
    for member in argv[2:]:
        score = None if z is None else z.scores.get(member)
        out.append(None if score is None else geohash.standard_geohash(score))
    return out


# --- searches --------------------------------------------------------------------------------

# How a search names its centre and shape (georadiusGeneric's flags).
_BY_LONLAT, _BY_MEMBER, _SEARCH, _SEARCH_STORE = "lonlat", "member", "search", "searchstore"


class _Point:
    __slots__ = ("member", "score", "lon", "lat", "dist")

    def __init__(self, member: bytes, score: float, lon: float, lat: float, dist: float) -> None:
        self.member = member
        self.score = score
        self.lon = lon
        self.lat = lat
        self.dist = dist


def _by_distance(a: _Point, b: _Point) -> int:
    """``sort_gp_asc``."""
    if a.dist > b.dist:
        return 1
    return 0 if a.dist == b.dist else -1


def _by_distance_desc(a: _Point, b: _Point) -> int:
    return -_by_distance(a, b)


def _find(z: ZSet, shape: Shape, limit: int) -> list[_Point]:
    """``membersOfAllNeighbors``: the members inside the shape, box by box, each box's in
    score order; with ``limit`` (ANY) it stops as soon as it has that many."""
    found: list[_Point] = []
    order = z.order
    for low, high in geohash.search_boxes(shape):
        if limit and len(found) >= limit:
            break
        start = z.score_start(float(low), False)
        stop = z.score_stop(float(high), True)
        for score, member in order.range(start, stop) if start < stop else ():
            lon, lat = geohash.decode_score(score)
            dist = shape.distance_if_inside(lon, lat)
            if dist is not None:
                found.append(_Point(member, score, lon, lat, dist))
            if limit and len(found) >= limit:
                break
    return found


def _search(ctx: ExecContext, argv: list[bytes], how: str, readonly: bool):
    """``georadiusGeneric``: errors in Redis's order (the source key's type first, then the
    centre and radius of GEORADIUS*, then the options left to right, then what they miss)."""
    src_index = 2 if how == _SEARCH_STORE else 1
    z = read_typed(ctx, argv[src_index], ZSet)
    store: bytes | None = None
    store_dist = False
    lon = lat = conversion = 0.0
    radius: float | None = None
    width = height = 0.0

    if how == _BY_LONLAT:
        base = 6
        lon, lat = _lon_lat(argv[2], argv[3])
        radius, conversion = _radius(argv[4], argv[5])
    elif how == _BY_MEMBER:
        base = 5
        if z is not None:
            pos = _member_position(z, argv[2])
            if pos is None:
                raise NO_MEMBER
            lon, lat = pos
            radius, conversion = _radius(argv[3], argv[4])
    else:
        base = 2
        if how == _SEARCH_STORE:
            base = 3
            store = argv[1]

    search = how in (_SEARCH, _SEARCH_STORE)
    with_dist = with_hash = with_coord = False
    from_member = from_lonlat = by_radius = by_box = False
    sort = ""
    any_ = False
    count = 0
    remaining = len(argv) - base
    i = 0
    while i < remaining:
        at = base + i
        arg = argv[at].lower()
        if arg == b"withdist":
            with_dist = True
        elif arg == b"withhash":
            with_hash = True
        elif arg == b"withcoord":
            with_coord = True
        elif arg == b"any":
            any_ = True
        elif arg == b"asc":
            sort = "asc"
        elif arg == b"desc":
            sort = "desc"
        elif arg == b"count" and i + 1 < remaining:
            count = parse_int(argv[at + 1])
            if count <= 0:
                raise COUNT_POSITIVE
            i += 1
        elif arg in (b"store", b"storedist") and i + 1 < remaining and not readonly and not search:
            store = argv[at + 1]
            store_dist = arg == b"storedist"
            i += 1
        elif arg == b"storedist" and how == _SEARCH_STORE:
            store_dist = True
        elif arg == b"frommember" and i + 1 < remaining and search and not from_lonlat:
            if z is not None:
                pos = _member_position(z, argv[at + 1])
                if pos is None:
                    raise NO_MEMBER
                lon, lat = pos
            from_member = True
            i += 1
        elif arg == b"fromlonlat" and i + 2 < remaining and search and not from_member:
            lon, lat = _lon_lat(argv[at + 1], argv[at + 2])
            from_lonlat = True
            i += 2
        elif arg == b"byradius" and i + 2 < remaining and search and not by_box:
            radius, conversion = _radius(argv[at + 1], argv[at + 2])
            by_radius = True
            i += 2
        elif arg == b"bybox" and i + 3 < remaining and search and not by_radius:
            width = parse_float(argv[at + 1], NEED_WIDTH)
            height = parse_float(argv[at + 2], NEED_HEIGHT)
            if height < 0 or width < 0:
                raise NEGATIVE_BOX
            conversion = _unit(argv[at + 3])
            radius = None
            by_box = True
            i += 3
        else:
            raise errors.SYNTAX
        i += 1

    if store is not None and (with_dist or with_hash or with_coord):
        what = "GEOSEARCHSTORE" if how == _SEARCH_STORE else "STORE option in GEORADIUS"
        raise ErrorReply(f"ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    if search and not (from_member or from_lonlat):
        raise ErrorReply(b"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + argv[0])
    if search and not (by_radius or by_box):
        raise ErrorReply(b"ERR exactly one of BYRADIUS and BYBOX can be specified for " + argv[0])
    if any_ and not count:
        raise ANY_NEEDS_COUNT

    if z is None:
        if store is not None:
            _drop_store(ctx, store)
            return 0
        return []

    # COUNT without ASC/DESC sorts ascending (the nearest N), except with ANY.
    if count and not sort and not any_:
        sort = "asc"
    shape = Shape(lon, lat, conversion, radius, width, height)
    found = _find(z, shape, count if any_ else 0)
    if not found and store is None:
        return []
    if count and count < len(found):
        # Only the first COUNT are wanted: Redis's partial quicksort, whose order of equal
        # distances is its own.
        pqsort(found, _by_distance_desc if sort == "desc" else _by_distance, 0, count - 1)
        found = found[:count]
    elif sort:
        # glibc's qsort (2.36) is a merge sort: equal distances keep the scan's order.
        found.sort(key=lambda p: p.dist, reverse=sort == "desc")

    if store is None:
        out: list[object] = []
        extra = with_dist or with_hash or with_coord
        for p in found:
            if not extra:
                out.append(p.member)
                continue
            item: list[object] = [p.member]
            if with_dist:
                item.append(_distance_reply(p.dist / conversion))
            if with_hash:
                item.append(int(p.score))
            if with_coord:
                item.append([_coordinate(p.lon), _coordinate(p.lat)])
            out.append(item)
        return out

    if found:
        result = ZSet(compact=False)
        for p in found:
            score = p.dist / conversion if store_dist else p.score
            if p.member in result.scores:
                result.update(p.member, score)
            else:
                result.add(p.member, score)
        result.shrink_if_fits()
        notify = ctx.notify
        new = notify is not None and ctx.db.get_for_write(store, ctx.now_ms, ctx.index) is None
        ctx.db.set(store, result, ctx.index)
        if notify is not None:
            if new:
                notify(NEW, b"new", store, ctx.db_index)
            notify(ZSET, b"geosearchstore" if how == _SEARCH_STORE else b"georadiusstore", store, ctx.db_index)
    else:
        _drop_store(ctx, store)
    return len(found)


def _drop_store(ctx: ExecContext, store: bytes) -> None:
    if ctx.db.get_for_write(store, ctx.now_ms, ctx.index) is not None:
        ctx.db.delete(store, ctx.index)
        if ctx.notify is not None:
            ctx.notify(GENERIC, b"del", store, ctx.db_index)


def _radius(value: bytes, unit: bytes) -> tuple[float, float]:
    """``extractDistanceOrReply``: (radius, meters per unit)."""
    radius = parse_float(value, NEED_RADIUS)
    if radius < 0:
        raise NEGATIVE_RADIUS
    return radius, _unit(unit)


@command("georadius", -6, "write denyoom movablekeys", 1, 1, 1, WRITE, group="geo", since="3.2.0",
         summary="Query a sorted set representing a geospatial index to fetch members matching a given "
                 "maximum distance from a point")
def georadius(ctx: ExecContext, argv: list[bytes]):
    return _search(ctx, argv, _BY_LONLAT, False)


@command("georadiusbymember", -5, "write denyoom movablekeys", 1, 1, 1, WRITE, group="geo", since="3.2.0",
         summary="Query a sorted set representing a geospatial index to fetch members matching a given "
                 "maximum distance from a member")
def georadiusbymember(ctx: ExecContext, argv: list[bytes]):
    return _search(ctx, argv, _BY_MEMBER, False)


@command("georadius_ro", -6, "readonly", 1, 1, 1, READ, group="geo", since="3.2.10",
         summary="A read-only variant for GEORADIUS")
def georadius_ro(ctx: ExecContext, argv: list[bytes]):
    return _search(ctx, argv, _BY_LONLAT, True)


@command("georadiusbymember_ro", -5, "readonly", 1, 1, 1, READ, group="geo", since="3.2.10",
         summary="A read-only variant for GEORADIUSBYMEMBER")
def georadiusbymember_ro(ctx: ExecContext, argv: list[bytes]):
    return _search(ctx, argv, _BY_MEMBER, True)


@command("geosearch", -7, "readonly", 1, 1, 1, READ, group="geo", since="6.2.0",
         summary="Query a sorted set representing a geospatial index to fetch members inside an area of a box "
                 "or a circle.")
def geosearch(ctx: ExecContext, argv: list[bytes]):
    return _search(ctx, argv, _SEARCH, True)


@command("geosearchstore", -8, "write denyoom", 1, 2, 1, WRITE, group="geo", since="6.2.0",
         summary="Query a sorted set representing a geospatial index to fetch members inside an area of a box "
                 "or a circle, and store the result in another key.")
def geosearchstore(ctx: ExecContext, argv: list[bytes]):
    return _search(ctx, argv, _SEARCH_STORE, False)
