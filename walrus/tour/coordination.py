"""The tour sections of the cache, counter, lock and rate limits
(:mod:`walrus.features.coordination`).
"""

from __future__ import annotations

from typing import Any

from walrus.tour.runner import Section, Transcript, tour_section

SECTIONS: list[Section] = []


@tour_section("Cache", into=SECTIONS)
def _cache(db: Any, show: Transcript) -> None:
    """A Cache stores any picklable value with an optional timeout (one round
    trip per call); cached() memoizes a function, a hit costing one GET."""
    show("cache = db.cache('tour:cache')")
    show("cache.set('answer', {'value': 42}, timeout=60)")
    show("cache.get('answer'), cache.get('missing', 'default')")
    show("cache.set_many({'k1': 'v1', 'k2': None}, timeout=60)")
    show("cache.get_many(['k1', 'kx', 'k2'])")
    show("""
    calls = []
    @cache.cached(timeout=60, metrics=True)
    def square(x):
        calls.append(x)
        return x * x
    """)
    show("square(4), square(4), calls")
    show("square.metrics.hits, square.metrics.misses")
    show("square.bust(4)")
    show("cache.flush()")


@tour_section("Counter", into=SECTIONS)
def _counter(db: Any, show: Transcript) -> None:
    """A Counter is an integer changed atomically (INCRBY); + and - read it,
    += and -= change it."""
    show("hits = db.counter('tour:hits')")
    show("hits.incr(), hits.incr(10), hits.decr()")
    show("hits += 5")
    show("hits.value(), hits + 100, hits.value(), hits > 10")


@tour_section("Lock", into=SECTIONS)
def _lock(db: Any, show: Transcript) -> None:
    """A Lock excludes other holders across threads and processes; waiters
    block on a list instead of polling, and a ttl (ms) frees a dead holder's
    lock. Each acquire hands out a growing fencing token."""
    show("lock = db.lock('tour:lock', ttl=5000)")
    show("lock.acquire(), lock.fence is not None")
    show("db.lock('tour:lock').acquire(block=False)")
    show("lock.release()")
    show("""
    with lock:
        print('holding', lock.locked())
    """)
    lock = show.namespace["lock"]
    show.note("its wake-up list and fencing key expire 5 s after a release")
    db.delete(lock.key, lock.event, lock.fence_key)  # outside tour:*, so here


@tour_section("Rate limits", into=SECTIONS)
def _rate_limit(db: Any, show: Transcript) -> None:
    """RateLimit admits at most `limit` events per `per` seconds for each key,
    in one atomic round trip; limit() returns True when an event is refused."""
    show("rl = db.rate_limit('tour:rl', limit=2, per=60)")
    show("rl.limit('user-1'), rl.limit('user-1'), rl.limit('user-1')")
    show("rl.status('user-1').remaining, rl.status('user-2').remaining")
