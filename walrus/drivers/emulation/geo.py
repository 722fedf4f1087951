"""The GEO family over sorted sets, with Redis 7.0's geohash arithmetic.

A position is stored as a sorted-set member whose score is Redis's 52-bit
geohash (26 bits of longitude interleaved with 26 of latitude, latitude
limited to +-85.05112878 as in Web Mercator), so ZRANGE, ZSCORE and DUMP see
the scores Redis would store, and GEOPOS/GEODIST decode them as Redis does:
the centre of the 52-bit cell, distances by the haversine formula on a
sphere of radius 6372797.560856 m, printed as ``%.4f``; coordinates as
Redis's long doubles (``%.17Lf``, trailing zeros removed).

Searches (GEOSEARCH, GEORADIUS ...) follow Redis's algorithm, so replies come
in the same order: a cell size estimated from the radius, that cell and its
eight neighbours (those that can hold a match), each scanned in score order
and filtered by exact distance (or by the box), then sorted by distance if
asked (COUNT without ANY sorts ascending). Cost: O(N + M log M) for the N
members in the cells scanned and M matches.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import NamedTuple

from walrus.drivers.embedded.types import Reply
from walrus.drivers.emulation.engine import (
    SYNTAX,
    EmulationEngine,
    Refused,
    command,
    format_float,
    to_float,
    to_int,
)
from walrus.drivers.emulation.sortedset import ZSet
from walrus.drivers.emulation.zsets import get_zset, zadd

Args = list[bytes]
STEP = 26  # bits per coordinate: 52-bit scores
LON_MIN, LON_MAX = -180.0, 180.0
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
EARTH_RADIUS = 6372797.560856  # metres, Redis's
MERCATOR_MAX = 20037726.37
UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}
ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"
BAD_MEMBER = "ERR could not decode requested zset member"


# -- geohash arithmetic ----------------------------------------------------------
def _spread(value: int) -> int:
    """The 32 bits of ``value`` moved to the even bit positions of 64."""
    value &= 0xFFFFFFFF
    value = (value | (value << 16)) & 0x0000FFFF0000FFFF
    value = (value | (value << 8)) & 0x00FF00FF00FF00FF
    value = (value | (value << 4)) & 0x0F0F0F0F0F0F0F0F
    value = (value | (value << 2)) & 0x3333333333333333
    return (value | (value << 1)) & 0x5555555555555555


def _squash(value: int) -> int:
    """The even bits of ``value`` packed into 32 (the inverse of _spread)."""
    value &= 0x5555555555555555
    value = (value | (value >> 1)) & 0x3333333333333333
    value = (value | (value >> 2)) & 0x0F0F0F0F0F0F0F0F
    value = (value | (value >> 4)) & 0x00FF00FF00FF00FF
    value = (value | (value >> 8)) & 0x0000FFFF0000FFFF
    return (value | (value >> 16)) & 0xFFFFFFFF


class Cell(NamedTuple):
    """A geohash of ``step`` bits per coordinate (longitude in the odd bits)."""

    bits: int
    step: int


def encode(
    lon: float,
    lat: float,
    step: int = STEP,
    lat_range: tuple[float, float] = (LAT_MIN, LAT_MAX),
) -> Cell:
    """The cell holding (lon, lat); offsets truncate to integers as in C."""
    lat_offset = (lat - lat_range[0]) / (lat_range[1] - lat_range[0]) * (1 << step)
    lon_offset = (lon - LON_MIN) / (LON_MAX - LON_MIN) * (1 << step)
    return Cell(_spread(int(lat_offset)) | (_spread(int(lon_offset)) << 1), step)


class Area(NamedTuple):
    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float


def area(cell: Cell) -> Area:
    """The rectangle a cell covers."""
    lat_cells = _squash(cell.bits)
    lon_cells = _squash(cell.bits >> 1)
    scale = float(1 << cell.step)
    lat_span, lon_span = LAT_MAX - LAT_MIN, LON_MAX - LON_MIN
    return Area(
        LON_MIN + (lon_cells * 1.0 / scale) * lon_span,
        LON_MIN + (((lon_cells + 1) & 0xFFFFFFFF) * 1.0 / scale) * lon_span,
        LAT_MIN + (lat_cells * 1.0 / scale) * lat_span,
        LAT_MIN + (((lat_cells + 1) & 0xFFFFFFFF) * 1.0 / scale) * lat_span,
    )


def decode(score: float) -> tuple[float, float]:
    """(lon, lat) at the centre of a score's cell, clamped to the limits."""
    bits = int(score) & 0xFFFFFFFFFFFFFFFF if math.isfinite(score) else 0
    box = area(Cell(bits, STEP))
    lon = min(max((box.lon_min + box.lon_max) / 2, LON_MIN), LON_MAX)
    lat = min(max((box.lat_min + box.lat_max) / 2, LAT_MIN), LAT_MAX)
    return lon, lat


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Metres between two points (haversine, Redis's radius and shortcut)."""
    lat1r, lon1r = math.radians(lat1), math.radians(lon1)
    lat2r, lon2r = math.radians(lat2), math.radians(lon2)
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return _lat_distance(lat1, lat2)
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS * math.asin(math.sqrt(a))


def _lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS * abs(math.radians(lat2) - math.radians(lat1))


def _move(cell: Cell, dx: int, dy: int) -> Cell:
    """The neighbouring cell ``dx`` east and ``dy`` north (wrapping around)."""
    width = 64 - cell.step * 2
    lon_bits, lat_bits = cell.bits & 0xAAAAAAAAAAAAAAAA, cell.bits & 0x5555555555555555
    if dx:
        fill = 0x5555555555555555 >> width
        lon_bits = lon_bits + fill + 1 if dx > 0 else (lon_bits | fill) - (fill + 1)
        lon_bits &= 0xAAAAAAAAAAAAAAAA >> width
    if dy:
        fill = 0xAAAAAAAAAAAAAAAA >> width
        lat_bits = lat_bits + fill + 1 if dy > 0 else (lat_bits | fill) - (fill + 1)
        lat_bits &= 0x5555555555555555 >> width
    return Cell((lon_bits | lat_bits) & 0xFFFFFFFFFFFFFFFF, cell.step)


def geohash_text(score: float) -> bytes:
    """The 11-character standard geohash (latitude range +-90) of a score."""
    lon, lat = decode(score)
    bits = encode(lon, lat, STEP, (-90.0, 90.0)).bits
    chars = [ALPHABET[(bits >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10)]
    return bytes([*chars, ALPHABET[0]])


def coordinate(value: float) -> bytes:
    """A coordinate as Redis prints it (``%.17Lf`` without trailing zeros)."""
    text = f"{Decimal(value):.17f}".rstrip("0").rstrip(".")
    return b"0" if text == "-0" else text.encode()


# -- argument parsing -------------------------------------------------------------
def lon_lat(raw_lon: bytes, raw_lat: bytes) -> tuple[float, float]:
    lon, lat = to_float(raw_lon), to_float(raw_lat)
    if not (LON_MIN <= lon <= LON_MAX and LAT_MIN <= lat <= LAT_MAX):
        raise Refused(f"ERR invalid longitude,latitude pair {lon:f},{lat:f}")
    return lon, lat


def unit(raw: bytes) -> float:
    scale = UNITS.get(raw.lower())
    if scale is None:
        raise Refused("ERR unsupported unit provided. please use M, KM, FT, MI")
    return scale


def _member_position(zset: ZSet, member: bytes) -> tuple[float, float]:
    score = zset.scores.get(member)
    if score is None:
        raise Refused(BAD_MEMBER)
    return decode(score)


# -- GEOADD, GEOPOS, GEODIST, GEOHASH ---------------------------------------------
@command("GEOADD", -5)
def geoadd(db: EmulationEngine, args: Args) -> Reply:
    """GEOADD key [NX|XX] [CH] lon lat member ...: ZADD with geohash scores."""
    at = 2
    while at < len(args) and args[at].upper() in (b"NX", b"XX", b"CH"):
        at += 1
    flags = [a.upper() for a in args[2:at]]
    if (len(args) - at) % 3 or {b"NX", b"XX"} <= set(flags):
        raise Refused(SYNTAX)
    pairs: list[bytes] = []
    for i in range(at, len(args), 3):
        lon, lat = lon_lat(args[i], args[i + 1])
        pairs += [format_float(float(encode(lon, lat).bits)), args[i + 2]]
    return zadd(db, [b"ZADD", args[1], *flags, *pairs])


@command("GEOPOS", -2)
def geopos(db: EmulationEngine, args: Args) -> Reply:
    scores = get_zset(db, args[1]).scores
    found: list[Reply] = []
    for member in args[2:]:
        score = scores.get(member)
        found.append(None if score is None else [coordinate(c) for c in decode(score)])
    return found


@command("GEODIST", -4)
def geodist(db: EmulationEngine, args: Args) -> Reply:
    """GEODIST key member1 member2 [M|KM|FT|MI]. O(1)."""
    if len(args) > 5:
        raise Refused(SYNTAX)
    scale = unit(args[4]) if len(args) == 5 else 1.0
    scores = get_zset(db, args[1]).scores
    first, second = scores.get(args[2]), scores.get(args[3])
    if first is None or second is None:
        return None
    return f"{distance(*decode(first), *decode(second)) / scale:.4f}".encode()


@command("GEOHASH", -2)
def geohash(db: EmulationEngine, args: Args) -> Reply:
    scores = get_zset(db, args[1]).scores
    return [
        None if (s := scores.get(member)) is None else geohash_text(s)
        for member in args[2:]
    ]


# -- searches ----------------------------------------------------------------------
class Shape(NamedTuple):
    """Where to search: a circle (radius) or a box (width, height), in ``scale``
    units (metres per unit)."""

    lon: float
    lat: float
    scale: float
    radius: float = 0.0
    width: float = 0.0
    height: float = 0.0
    box: bool = False

    def bounds(self) -> tuple[float, float, float, float]:
        """(lon min, lat min, lon max, lat max) that hold the shape."""
        half_h = self.scale * (self.height / 2 if self.box else self.radius)
        half_w = self.scale * (self.width / 2 if self.box else self.radius)
        lat_delta = math.degrees(half_h / EARTH_RADIUS)
        top = math.degrees(
            half_w / EARTH_RADIUS / math.cos(math.radians(self.lat + lat_delta))
        )
        bottom = math.degrees(
            half_w / EARTH_RADIUS / math.cos(math.radians(self.lat - lat_delta))
        )
        lon_delta = bottom if self.lat < 0 else top
        return (
            self.lon - lon_delta,
            self.lat - lat_delta,
            self.lon + lon_delta,
            self.lat + lat_delta,
        )

    def reach(self) -> float:
        """Metres from the centre to the farthest point of the shape."""
        if not self.box:
            return self.radius * self.scale
        return math.sqrt((self.width / 2) ** 2 + (self.height / 2) ** 2) * self.scale

    def distance_to(self, lon: float, lat: float) -> float | None:
        """Metres from the centre to (lon, lat); None if outside the shape."""
        if not self.box:
            found = distance(self.lon, self.lat, lon, lat)
            return None if found > self.radius * self.scale else found
        if _lat_distance(lat, self.lat) > self.height * self.scale / 2:
            return None
        if distance(lon, lat, self.lon, lat) > self.width * self.scale / 2:
            return None
        return distance(self.lon, self.lat, lon, lat)


def _steps(metres: float, lat: float) -> int:
    """Redis's cell size (bits per coordinate) for a search of this reach."""
    if metres == 0:
        return STEP
    step = 1
    while metres < MERCATOR_MAX:
        metres *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return max(1, min(STEP, step))


_DIRECTIONS = [(0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)]


def _cells(shape: Shape) -> list[Cell | None]:
    """The centre cell and its neighbours (N, S, E, W, NE, NW, SE, SW), None
    for those that cannot hold a match; Redis's choice, in Redis's order."""
    lon_min, lat_min, lon_max, lat_max = shape.bounds()
    step = _steps(shape.reach(), shape.lat)
    centre = encode(shape.lon, shape.lat, step)
    north, south = area(_move(centre, 0, 1)), area(_move(centre, 0, -1))
    east, west = area(_move(centre, 1, 0)), area(_move(centre, -1, 0))
    if step > 1 and (
        north.lat_max < lat_max
        or south.lat_min > lat_min
        or east.lon_max < lon_max
        or west.lon_min > lon_min
    ):
        step -= 1
        centre = encode(shape.lon, shape.lat, step)
    cells: list[Cell | None] = [centre]
    cells += [_move(centre, dx, dy) for dx, dy in _DIRECTIONS]
    if step >= 2:
        box = area(centre)
        useless = set()
        if box.lat_min < lat_min:
            useless |= {(0, -1), (-1, -1), (1, -1)}
        if box.lat_max > lat_max:
            useless |= {(0, 1), (1, 1), (-1, 1)}
        if box.lon_min < lon_min:
            useless |= {(-1, 0), (-1, -1), (-1, 1)}
        if box.lon_max > lon_max:
            useless |= {(1, 0), (1, -1), (1, 1)}
        for i, direction in enumerate(_DIRECTIONS, 1):
            if direction in useless:
                cells[i] = None
    return cells


class Found(NamedTuple):
    distance: float  # metres
    score: float
    member: bytes
    lon: float
    lat: float


def search(zset: ZSet, shape: Shape, limit: int) -> list[Found]:
    """Members inside ``shape``, cell by cell as Redis finds them; stops once
    ``limit`` are found (0: no limit)."""
    found: list[Found] = []
    cells = _cells(shape)
    last = 0  # the last cell scanned, when not the centre (Redis's quirk)
    for index, cell in enumerate(cells):
        if cell is None or (last and cell == cells[last]):
            continue  # useless, or the same as the last one (huge radii)
        if limit and len(found) >= limit:
            break
        shift = 52 - cell.step * 2
        low, high = float(cell.bits << shift), float((cell.bits + 1) << shift)
        start = zset.count_below(_score, low, inclusive=False)
        stop = zset.count_below(_score, high, inclusive=False)
        for score, member in zset.slice(start, stop):
            lon, lat = decode(score)
            metres = shape.distance_to(lon, lat)
            if metres is not None:
                found.append(Found(metres, score, member, lon, lat))
                if limit and len(found) >= limit:
                    break
        last = index
    return found


def _score(item: tuple[float, bytes]) -> float:
    return item[0]


class Query(NamedTuple):
    shape: Shape | None  # None when the key is missing (FROMMEMBER not checked)
    order: str  # "", "asc" or "desc"
    limit: int  # COUNT (0: none)
    any_: bool
    store: bytes | None
    store_dist: bool
    options: tuple[bool, bool, bool]  # WITHDIST, WITHHASH, WITHCOORD


def parse_query(db: EmulationEngine, args: Args, kind: str) -> tuple[Query, ZSet]:
    """The options of GEOSEARCH(STORE) and GEORADIUS(BYMEMBER)(_RO), checked
    in Redis's order; ``kind`` is "search", "searchstore", "radius",
    "member" (and "_ro" forms)."""
    source = args[2] if kind == "searchstore" else args[1]
    entry = db.typed(source, "zset")
    zset: ZSet = ZSet() if entry is None else entry.value
    centre: tuple[float, float] | None = None
    size: tuple[float, float, float, bool] | None = None  # radius/w, h, scale, box
    if kind.startswith("radius"):
        centre = lon_lat(args[2], args[3])
        size = (_radius(args[4]), 0.0, unit(args[5]), False)
        first = 6
    elif kind.startswith("member"):
        if entry is not None:
            centre = _member_position(zset, args[2])
            size = (_radius(args[3]), 0.0, unit(args[4]), False)
        first = 5
    else:
        first = 3 if kind == "searchstore" else 2
    search_kind = kind.startswith("search")
    can_store = not kind.endswith("_ro") and not search_kind
    options = [False, False, False]
    order, count, any_, store, store_dist = "", 0, False, None, False
    from_member = from_lonlat = by_radius = by_box = False
    rest = args[first:]
    i = 0
    while i < len(rest):
        word, left = rest[i].lower(), len(rest) - i - 1
        if word in (b"withdist", b"withhash", b"withcoord"):
            options[[b"withdist", b"withhash", b"withcoord"].index(word)] = True
        elif word == b"any":
            any_ = True
        elif word in (b"asc", b"desc"):
            order = word.decode()
        elif word == b"count" and left >= 1:
            count = to_int(rest[i + 1])
            if count <= 0:
                raise Refused("ERR COUNT must be > 0")
            i += 1
        elif word in (b"store", b"storedist") and left >= 1 and can_store:
            store, store_dist = rest[i + 1], word == b"storedist"
            i += 1
        elif word == b"storedist" and kind == "searchstore":
            store_dist = True
        elif word == b"frommember" and left >= 1 and search_kind and not from_lonlat:
            if entry is not None:
                centre = _member_position(zset, rest[i + 1])
            from_member = True
            i += 1
        elif word == b"fromlonlat" and left >= 2 and search_kind and not from_member:
            centre = lon_lat(rest[i + 1], rest[i + 2])
            from_lonlat = True
            i += 2
        elif word == b"byradius" and left >= 2 and search_kind and not by_box:
            size = (_radius(rest[i + 1]), 0.0, unit(rest[i + 2]), False)
            by_radius = True
            i += 2
        elif word == b"bybox" and left >= 3 and search_kind and not by_radius:
            width = _number(rest[i + 1], "need numeric width")
            height = _number(rest[i + 2], "need numeric height")
            if width < 0 or height < 0:
                raise Refused("ERR height or width cannot be negative")
            size = (width, height, unit(rest[i + 3]), True)
            by_box = True
            i += 3
        else:
            raise Refused(SYNTAX)
        i += 1
    name = args[0].decode()
    if kind == "searchstore":
        store = args[1]
    if store is not None and any(options):
        what = (
            "GEOSEARCHSTORE" if kind == "searchstore" else "STORE option in GEORADIUS"
        )
        raise Refused(
            f"ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD "
            "options"
        )
    if search_kind and not (from_member or from_lonlat):
        raise Refused(
            f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )
    if search_kind and not (by_radius or by_box):
        raise Refused(
            f"ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )
    if any_ and not count:
        raise Refused("ERR the ANY argument requires COUNT argument")
    shape = None
    if entry is not None and centre is not None and size is not None:
        extent, height, scale, box = size
        shape = (
            Shape(*centre, scale, width=extent, height=height, box=True)
            if box
            else Shape(*centre, scale, radius=extent)
        )
    options_tuple = (options[0], options[1], options[2])
    return Query(shape, order, count, any_, store, store_dist, options_tuple), zset


def _number(raw: bytes, message: str) -> float:
    return to_float(raw, f"ERR {message}")


def _radius(raw: bytes) -> float:
    radius = _number(raw, "need numeric radius")
    if radius < 0:
        raise Refused("ERR radius cannot be negative")
    return radius


def run_query(db: EmulationEngine, query: Query, zset: ZSet) -> Reply:
    """Search, sort, and reply or store, as Redis's georadiusGeneric does."""
    if query.shape is None:  # no such key
        if query.store is not None:
            db.delete(query.store)
            return 0
        return []
    order = query.order or ("asc" if query.limit and not query.any_ else "")
    found = search(zset, query.shape, query.limit if query.any_ else 0)
    if order:
        found.sort(key=lambda f: f.distance, reverse=order == "desc")
    if query.limit:
        found = found[: query.limit]
    scale = query.shape.scale
    if query.store is not None:
        result = ZSet()
        for item in found:
            result.add(
                item.member, item.distance / scale if query.store_dist else item.score
            )
        db.replace(query.store, "zset", result)
        return len(found)
    with_dist, with_hash, with_coord = query.options
    if not any(query.options):
        return [item.member for item in found]
    replies: list[Reply] = []
    for item in found:
        reply: list[Reply] = [item.member]
        if with_dist:
            reply.append(f"{item.distance / scale:.4f}".encode())
        if with_hash:
            reply.append(int(item.score))
        if with_coord:
            reply.append([coordinate(item.lon), coordinate(item.lat)])
        replies.append(reply)
    return replies


_KINDS = {
    b"GEOSEARCH": "search",
    b"GEOSEARCHSTORE": "searchstore",
    b"GEORADIUS": "radius",
    b"GEORADIUS_RO": "radius_ro",
    b"GEORADIUSBYMEMBER": "member",
    b"GEORADIUSBYMEMBER_RO": "member_ro",
}


@command("GEOSEARCH", -7)
@command("GEOSEARCHSTORE", -8)
@command("GEORADIUS", -6)
@command("GEORADIUS_RO", -6)
@command("GEORADIUSBYMEMBER", -5)
@command("GEORADIUSBYMEMBER_RO", -5)
def geosearch(db: EmulationEngine, args: Args) -> Reply:
    query, zset = parse_query(db, args, _KINDS[args[0].upper()])
    return run_query(db, query, zset)
