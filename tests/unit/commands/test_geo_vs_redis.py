"""GEO commands against redis-server 7.0, reply for reply in RESP2 and RESP3: GEOADD and its
options, GEOPOS, GEODIST in every unit, GEOHASH, and the searches (GEORADIUS*, GEOSEARCH,
GEOSEARCHSTORE) with every option, places all over the world (the poles' limits, the
antimeridian, the equator), zero and huge radii, and every error; then seeded random
positions and searches.

Members at the same position tie on distance: without COUNT they keep the scan's order (a
stable sort), with COUNT Redis's partial quicksort orders them, and the random test puts
many members on a few shared positions to check both."""

from __future__ import annotations

import random

import pytest
from commands_differential import against_redis

PLACES = r"""
geoadd Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
geoadd Sicily 13.583333 37.316667 Agrigento
geoadd world 0 0 nullisland -0.0001 0.0001 near 180 0 antimeridian -180 0 antimeridian2 179.9999 -0.5 east
geoadd world 2.3522 48.8566 paris -0.1276 51.5072 london 139.6917 35.6895 tokyo -74.006 40.7128 nyc
geoadd world -58.3816 -34.6037 buenosaires 151.2093 -33.8688 sydney -43.1729 -22.9068 rio 37.6173 55.7558 moscow
geoadd world 0 85.05112878 northmost 0 -85.05112878 southmost 45 85 north2 -120 -84.9 south2
geoadd world 180 85.05112878 corner1 -180 -85.05112878 corner2 10.1 84.99 arctic 170 -80.5 antarctic
geoadd world 179.5 10 dateline1 -179.5 10 dateline2 -179.99 -10 dateline3
"""

SCRIPT = PLACES + r"""
zrange Sicily 0 -1 withscores
zrange world 0 -1 withscores
geopos Sicily Palermo Catania nosuch Agrigento
geopos world nullisland near antimeridian antimeridian2 east northmost southmost corner1 corner2 arctic
geopos world paris london tokyo nyc buenosaires sydney rio moscow dateline1 dateline2 dateline3
geopos nokey a b
geopos Sicily
geohash Sicily Palermo Catania nosuch
geohash world nullisland near antimeridian antimeridian2 northmost southmost corner1 corner2 tokyo sydney
geohash nokey a
geohash Sicily
geodist Sicily Palermo Catania
geodist Sicily Palermo Catania m
geodist Sicily Palermo Catania km
geodist Sicily Palermo Catania KM
geodist Sicily Palermo Catania mi
geodist Sicily Palermo Catania ft
geodist Sicily Palermo Catania parsec
geodist Sicily Palermo Catania km extra
geodist Sicily Palermo nosuch
geodist nokey a b
geodist nokey a b furlong
geodist world northmost southmost
geodist world antimeridian antimeridian2
geodist world dateline1 dateline2
geodist world nullisland nullisland
geodist world paris sydney km
georadius Sicily 15 37 200 km
georadius Sicily 15 37 200 km ASC
georadius Sicily 15 37 200 km DESC
georadius Sicily 15 37 200 km WITHDIST
georadius Sicily 15 37 200 km WITHCOORD
georadius Sicily 15 37 200 km WITHHASH
georadius Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC
georadius Sicily 15 37 200 km WITHHASH WITHCOORD WITHDIST DESC COUNT 1
georadius Sicily 15 37 200 km COUNT 2
georadius Sicily 15 37 200 km COUNT 2 DESC
georadius Sicily 15 37 200 km COUNT 1 ANY
georadius Sicily 15 37 200 km COUNT 5 ANY ASC
georadius Sicily 15 37 200 km ANY
georadius Sicily 15 37 200 km COUNT 0
georadius Sicily 15 37 200 km COUNT -3
georadius Sicily 15 37 200 km COUNT x
georadius Sicily 15 37 200 km COUNT
georadius Sicily 15 37 100 m
georadius Sicily 15 37 0 km
georadius Sicily 13.361389 38.115556 0 m withdist
georadius Sicily 15 37 200 mi withdist
georadius Sicily 15 37 200000 ft withdist
georadius Sicily 15 37 200 parsec
georadius Sicily 15 37 -1 km
georadius Sicily 15 37 abc km
georadius Sicily 181 37 200 km
georadius Sicily 15 86 200 km
georadius Sicily -180.5 -90 200 km
georadius Sicily abc 37 200 km
georadius Sicily 15 inf 200 km
georadius Sicily 15 37 200 km bogus
georadius Sicily 15 37 200 km STORE
georadius nokey 15 37 200 km
georadius nokey 15 37 200 km store dst
georadius Sicily 15 37 200 km withdist store dst
georadius_ro Sicily 15 37 200 km withdist asc
georadius_ro Sicily 15 37 200 km store dst
georadius_ro Sicily 15 37 200 km storedist dst
georadiusbymember Sicily Agrigento 100 km
georadiusbymember Sicily Agrigento 100 km withdist withcoord asc
georadiusbymember Sicily Palermo 200 km withdist desc count 2
georadiusbymember Sicily nosuch 100 km
georadiusbymember nokey nosuch 100 km
georadiusbymember nokey nosuch -5 parsec
georadiusbymember nokey nosuch -5 parsec bogus
georadiusbymember nokey nosuch 5 km store dst
georadiusbymember Sicily Palermo -5 km
georadiusbymember_ro Sicily Palermo 200 km withdist asc
georadiusbymember_ro Sicily Palermo 200 km store x
georadius world 0 0 20000 km
georadius world 0 0 20000 km asc withdist
georadius world 0 0 100000 km desc withdist
georadius world 0 0 1 km withdist
georadius world 180 0 500 km withdist asc
georadius world -180 0 500 km withdist asc
georadius world 179.9 5 2000 km withdist asc
georadius world -179.9 5 2000 km withdist asc
georadius world 0 85 200 km withdist withcoord asc
georadius world 0 -85 300 km withdist withcoord asc
georadius world 0 85.05112878 5000 km withdist asc
georadius world 100 -85 5000 km withdist asc
georadius world 2 49 400 km withdist withhash withcoord asc
georadius world 2 49 10000 km withdist asc count 3
georadius world 2 49 10000 km count 3 any
georadius world 2 49 10000 km count 300 any
georadiusbymember world nullisland 0 m withdist
georadiusbymember world nullisland 20 m withdist
georadiusbymember world paris 500 km withdist asc
georadiusbymember world paris 5000 km withdist asc
georadiusbymember world tokyo 20000 km withdist desc count 4
geosearch Sicily fromlonlat 15 37 byradius 200 km asc
geosearch Sicily fromlonlat 15 37 byradius 200 km withdist withcoord withhash desc
geosearch Sicily frommember Palermo byradius 200 km withdist
geosearch Sicily frommember Palermo bybox 400 400 km withdist asc
geosearch Sicily frommember Palermo bybox 200 100 km withdist asc
geosearch Sicily fromlonlat 15 37 bybox 400 400 km withdist withcoord asc
geosearch Sicily fromlonlat 15 37 bybox 400 400 km count 1
geosearch Sicily fromlonlat 15 37 bybox 400 400 km count 1 any
geosearch Sicily fromlonlat 15 37 bybox 0 0 km
geosearch Sicily frommember Palermo bybox 0 0 km withdist
geosearch Sicily frommember nosuch byradius 200 km
geosearch nokey frommember nosuch byradius 200 km
geosearch nokey frommember nosuch bybox 1 1 km
geosearch Sicily byradius 200 km
geosearch Sicily frommember Palermo
geosearch Sicily fromlonlat 15 37
geosearch Sicily fromlonlat 15 37 byradius 200 km bybox 1 1 km
geosearch Sicily fromlonlat 15 37 bybox 1 1 km byradius 200 km
geosearch Sicily fromlonlat 15 37 frommember Palermo byradius 200 km
geosearch Sicily frommember Palermo fromlonlat 15 37 byradius 200 km
geosearch Sicily fromlonlat 15 37 byradius 200 km store dst
geosearch Sicily fromlonlat 15 37 byradius 200 km storedist
geosearch Sicily fromlonlat 15 37 bybox -1 1 km
geosearch Sicily fromlonlat 15 37 bybox 1 -1 km
geosearch Sicily fromlonlat 15 37 bybox x 1 km
geosearch Sicily fromlonlat 15 37 bybox 1 x km
geosearch Sicily fromlonlat 15 37 bybox 1 1 parsec
geosearch Sicily fromlonlat 15 37 bybox 1 1
geosearch Sicily fromlonlat 15 37 byradius 1
geosearch Sicily fromlonlat 15 byradius 1 km
geosearch Sicily fromlonlat 15 37 byradius 200 km any
geosearch Sicily fromlonlat 15 37 byradius 200 km count 0
GEOSEARCH Sicily bybox 1 1 km
GeoSearch Sicily fromlonlat 1 1 count 1
geosearch world fromlonlat 0 0 bybox 40000 20000 km withdist asc
geosearch world fromlonlat 180 0 bybox 200 200 km withdist asc
geosearch world fromlonlat 179.99 9 bybox 300 400 km withdist asc
geosearch world fromlonlat 0 84 bybox 1000 1000 km withdist asc
geosearch world fromlonlat 0 -84 bybox 3000 1000 km withdist asc
geosearch world frommember paris bybox 1000 2000 mi withdist asc
geosearch world frommember paris bybox 2000 1000 mi withdist desc
geosearch world frommember nullisland bybox 100 100 ft withdist
georadius world 0 0 inf km withdist
georadius world 0 0 1e308 km withdist asc
geosearch world fromlonlat 0 0 bybox inf inf m withdist asc
geosearch world fromlonlat 0 0 bybox 1e308 1 km withdist asc
geosearch world fromlonlat 0 84 bybox 1 1e7 km withdist asc
geosearch world fromlonlat 0 0 byradius 1e-300 m withdist asc
georadius world 180 85.05112878 30000 km withdist asc
georadius world -180 -85.05112878 30000 km withdist desc count 3
georadius world 15 37 0x10 km
georadius world 15 37 1e400 km
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km
zrange dst 0 -1 withscores
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km storedist
zrange dst 0 -1 withscores
object encoding dst
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km storedist desc count 1
zrange dst 0 -1 withscores
geosearchstore dst Sicily fromlonlat 15 37 byradius 1 m
exists dst
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km withdist
geosearchstore dst Sicily fromlonlat 15 37 byradius 200 km store x
geosearchstore dst nokey fromlonlat 15 37 byradius 200 km
geosearchstore dst Sicily frommember nosuch byradius 200 km
geosearchstore Sicily Sicily frommember Palermo byradius 100 km storedist
zrange Sicily 0 -1 withscores
georadius world 0 0 20000 km store dst2
zrange dst2 0 -1 withscores
georadius world 0 0 20000 km storedist dst2
zrange dst2 0 -1 withscores
georadius world 0 0 20000 km store dst2 storedist dst3
exists dst2
zrange dst3 0 -1 withscores
georadius world 0 0 1 m store dst3
exists dst3
georadiusbymember world paris 500 km store dst4 asc count 1
zrange dst4 0 -1 withscores
set str x
set dst5 x
georadius world 0 0 1 m store dst5
exists dst5
georadius str 0 0 1 km
georadius str 500 0 1 km
georadiusbymember str a 1 km
geosearch str frommember a byradius 1 km
geosearchstore dst str frommember a byradius 1 km
geosearchstore str world frommember paris byradius 1 km
get str
geopos str a
geohash str a
geodist str a b
geodist str a b parsec
geoadd str 1 1 a
"""

GEOADD = r"""
geoadd g 10 20 a
geoadd g 10 20 a
geoadd g 11 20 a
geoadd g ch 12 20 a 13 20 b
geoadd g nx 14 20 a 15 20 c
geoadd g xx 16 20 a 17 20 d
geoadd g xx ch 18 20 a 19 20 e
geoadd g nx xx 1 1 a
geoadd g ch nx ch 1 1 z
geoadd g 1 1
geoadd g 1 1 a 2
geoadd g ch ch ch
geoadd g 181 1 a
geoadd g 1 85.06 a
geoadd g 1 -85.06 a
geoadd g 1 1 a 200 1 b
geoadd g 1 x a
geoadd g nan 1 a
geoadd g 1 inf a
geoadd g -inf 1 a
geoadd g 0x10 1 hex
geoadd g " 1" 1 sp
geoadd g 1e1 1e1 exp
geoadd g 1 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
object encoding g
zrange g 0 -1 withscores
geoadd long 1 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
object encoding long
zadd g 0 zero -1 neg 4503599627370496 big 1e300 huge inf inff -inf ninf 1.5 frac
geopos g zero neg big huge inff ninf frac
geohash g zero neg big huge inff ninf frac
geodist g zero neg
geodist g big huge
georadius g 0 0 20000 km withdist withhash
geoadd
geoadd g
geoadd g 1 1
geopos
geodist g a
georadius g 1 1 1
georadiusbymember g a 1
geosearch g fromlonlat 1 1 byradius
geosearchstore d g fromlonlat 1 1 byradius 1
"""


@pytest.mark.parametrize("resp3", [False, True])
@pytest.mark.parametrize("script", [SCRIPT, GEOADD], ids=["commands", "geoadd"])
def test_geo_commands_match_redis(redis_server, script, resp3):
    problems = against_redis(redis_server, script, resp3=resp3)
    assert not problems, "\n".join(problems)


_UNITS = [b"m", b"km", b"mi", b"ft", b"KM"]
_METERS = {b"m": 1.0, b"km": 1000.0, b"mi": 1609.34, b"ft": 0.3048, b"KM": 1000.0}
_CENTRES = [(13.4, 38.1), (0.0, 0.0), (179.9, -10.0), (-179.9, 10.0), (10.0, 84.9), (-60.0, -84.9), (2.35, 48.85)]


# Shared positions: members at the same place tie on distance, which COUNT's partial sort
# orders its own way.
_SPOTS = [(13.4, 38.1), (13.41, 38.1), (13.4, 38.11), (0.0, 0.0), (0.001, -0.001)]


def _coord(rnd: random.Random) -> tuple[float, float]:
    kind = rnd.random()
    if kind < 0.15:
        return rnd.choice(_SPOTS)
    if kind < 0.45:
        lon, lat = rnd.uniform(-180, 180), rnd.uniform(-85.05112878, 85.05112878)
    else:
        clon, clat = rnd.choice(_CENTRES)
        spread = rnd.choice([0.01, 0.5, 5.0])
        lon = min(max(clon + rnd.uniform(-spread, spread), -180.0), 180.0)
        lat = min(max(clat + rnd.uniform(-spread, spread), -85.05112878), 85.05112878)
    return lon, lat


def _num(v: float) -> bytes:
    return repr(v).encode()


def _distance(rnd: random.Random) -> tuple[bytes, bytes]:
    unit = rnd.choice(_UNITS)
    meters = rnd.choice([0.0, 10 ** rnd.uniform(0, 7.3)])
    return _num(round(meters / _METERS[unit], rnd.choice([0, 3]))), unit


def _options(rnd: random.Random, store: bool) -> list[bytes]:
    groups: list[list[bytes]] = []
    if not store:
        groups += [[o] for o in (b"WITHDIST", b"WITHCOORD", b"WITHHASH") if rnd.random() < 0.4]
    groups += rnd.choice([[], [], [[b"ASC"]], [[b"DESC"]]])
    if rnd.random() < 0.4:
        groups.append([b"COUNT", b"%d" % rnd.choice([1, 2, 3, 10, 50])])
        if rnd.random() < 0.3:
            groups.append([b"ANY"])
    rnd.shuffle(groups)
    return [word for group in groups for word in group]


def _random_script(seed: int, steps: int) -> list[tuple[int, str, list[bytes]]]:
    rnd = random.Random(seed)
    keys = [b"g1", b"g2"]
    members: dict[bytes, list[bytes]] = {k: [] for k in keys}
    out: list[tuple[int, str, list[bytes]]] = []
    for n in range(1, steps + 1):
        key = rnd.choice(keys)
        roll = rnd.random()
        if roll < 0.35 or not members[key]:
            argv = [b"GEOADD", key]
            for _ in range(rnd.choice([1, 1, 5, 30, 80])):
                lon, lat = _coord(rnd)
                name = b"m%d" % rnd.randrange(400)
                members[key].append(name)
                argv += [_num(lon), _num(lat), name]
            out.append((n, "", argv))
            continue
        lon, lat = _coord(rnd)
        centre = ([b"FROMLONLAT", _num(lon), _num(lat)] if rnd.random() < 0.6
                  else [b"FROMMEMBER", rnd.choice(members[key])])
        if roll < 0.6:
            if rnd.random() < 0.5:
                shape = [b"BYRADIUS", *_distance(rnd)]
            else:
                w, unit = _distance(rnd)
                h, _ = _distance(rnd)
                shape = [b"BYBOX", w, h, unit]
            if rnd.random() < 0.2:
                dest = b"dst"
                extra = [b"STOREDIST"] if rnd.random() < 0.5 else []
                out.append((n, "", [b"GEOSEARCHSTORE", dest, key, *centre, *shape, *_options(rnd, True), *extra]))
                out.append((n, "", [b"ZRANGE", dest, b"0", b"-1", b"WITHSCORES"]))
            else:
                out.append((n, "", [b"GEOSEARCH", key, *centre, *shape, *_options(rnd, False)]))
        elif roll < 0.85:
            radius = list(_distance(rnd))
            by_member = centre[0] == b"FROMMEMBER"
            name = b"GEORADIUSBYMEMBER" if by_member else b"GEORADIUS"
            if rnd.random() < 0.3:
                name += b"_RO"
            store = not name.endswith(b"_RO") and rnd.random() < 0.2
            opts = _options(rnd, store)
            if store:
                opts += [rnd.choice([b"STORE", b"STOREDIST"]), b"dst"]
            out.append((n, "", [name, key, *centre[1:], *radius, *opts]))
            if store:
                out.append((n, "", [b"ZRANGE", b"dst", b"0", b"-1", b"WITHSCORES"]))
        elif roll < 0.93:
            a, b = rnd.choice(members[key]), rnd.choice(members[key])
            out.append((n, "", [b"GEODIST", key, a, b, *rnd.choice([[], [rnd.choice(_UNITS)]])]))
        elif roll < 0.97:
            out.append((n, "", [rnd.choice([b"GEOPOS", b"GEOHASH"]), key, *rnd.sample(members[key], min(3, len(members[key]))), b"nosuch"]))
        else:
            out.append((n, "", [b"ZREM", key, rnd.choice(members[key])]))
    for k in keys:
        out.append((steps + 1, "", [b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"]))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_geo_match_redis(redis_server, seed):
    problems = against_redis(redis_server, _random_script(seed, 2000), resp3=seed % 2 == 0)
    assert not problems, "\n".join(problems[:5])

