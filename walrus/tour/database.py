"""The tour's first sections: the database itself (strings, the keyspace,
temporary keys, compare-and-set, atomic blocks, pipelines, pub/sub, scripts)."""

from __future__ import annotations

from typing import Any

from walrus.drivers.protocol import Capability
from walrus.tour.runner import Section, Transcript, tour_section

SECTIONS: list[Section] = []


@tour_section("Your database", into=SECTIONS)
def _database(db: Any, show: Transcript) -> None:
    """`db` is a redis-py client: every Redis command is a method of it."""
    show("import redis")
    show("isinstance(db, redis.Redis)")
    show("db.backend_name")
    show("sorted(capability.value for capability in db.capabilities)")
    show("db.ping()")


@tour_section("Strings: set and get", into=SECTIONS)
def _strings(db: Any, show: Transcript) -> None:
    """Values come back as bytes, unless the database has decode_responses=True."""
    show("db.set('tour:greeting', 'hello')")
    show("db.get('tour:greeting')")
    show("db['tour:greeting']")
    show("'tour:greeting' in db")
    show("db.incr('tour:visits')")
    show("db.incr('tour:visits', 10)")
    show("db.get('tour:missing') is None")


@tour_section("The keyspace: iteration, search and len", into=SECTIONS)
def _keyspace(db: Any, show: Transcript) -> None:
    """Iterating a database SCANs its keys in batches of 1,000; it never uses KEYS.
    Keys whose names share a ``{tag}`` live in one slot of a cluster, so one
    multi-key command can take them; a single server ignores the braces."""
    show("db.mset({'tour:{user}:1': 'ann', 'tour:{user}:2': 'bob'})")
    show("db.set('tour:color', 'red')")
    show("len(db)")
    show("sorted(db)")
    show("sorted(db.search('tour:{user}:*'))")


@tour_section("Temporary keys", into=SECTIONS)
def _temp_keys(db: Any, show: Transcript) -> None:
    """get_temp_key() gives a fresh random key name; give the key a TTL."""
    show("key = db.get_temp_key()")
    show("key")
    show("db.set(key, 'scratch work', ex=60)")
    show("db.ttl(key)")
    show("db.delete(key)")


@tour_section("Compare-and-set", into=SECTIONS)
def _cas(db: Any, show: Transcript) -> None:
    """cas() replaces a value only if it still holds the expected one, atomically."""
    show("db.set('tour:color', 'red')")
    show("db.cas('tour:color', 'red', 'green')")
    show("db.cas('tour:color', 'red', 'blue')")
    show("db.get('tour:color')")


@tour_section("Atomic blocks", into=SECTIONS)
def _atomic(db: Any, show: Transcript) -> None:
    """Commands queued in an atomic() block run together when it ends, in one
    round trip; an exception leaving the block discards them."""
    show(
        """
        with db.atomic() as pipe:
            pipe.set('tour:balance', 100)
            pipe.incrby('tour:balance', 20)
        """
    )
    show("db.atomic_results()")
    show("db.get('tour:balance')")
    show.note("now a block that fails: nothing it queued is applied")
    show(
        """
        try:
            with db.atomic() as pipe:
                pipe.set('tour:balance', 0)
                raise ValueError('changed my mind')
        except ValueError as exc:
            print('discarded:', exc)
        """
    )
    show("db.get('tour:balance')")


@tour_section("Pipelines", into=SECTIONS)
def _pipelines(db: Any, show: Transcript) -> None:
    """A pipeline sends many commands in one round trip and returns their replies."""
    show(
        """
        with db.pipeline() as pipe:
            pipe.set('tour:counter', 1)
            pipe.incr('tour:counter')
            pipe.get('tour:counter')
            replies = pipe.execute()
        """
    )
    show("replies")


@tour_section("Pub/sub", needs=[Capability.PUBSUB], into=SECTIONS)
def _pubsub(db: Any, show: Transcript) -> None:
    """PUBLISH sends a message to every subscriber of a channel and returns how
    many got it. db.listener() runs a function for each message (in a thread
    with is_async=True); here a pubsub object reads them one at a time."""
    show("news = db.pubsub()")
    show("news.subscribe('tour:news')")
    show.note("the subscription is confirmed: from now on, messages arrive")
    show("news.get_message(timeout=5)['type']")
    show("db.publish('tour:news', 'walrus says hello')")
    show("news.get_message(timeout=5)['data']")
    show("news.close()")


@tour_section("Scripts", into=SECTIONS)
def _scripts(db: Any, show: Transcript) -> None:
    """run_script() runs a named atomic operation (Lua on a server, its Python
    twin in embedded engines) or a script from your own script_dir."""
    show("db.set('tour:status', 'draft')")
    show("db.run_script('cas', keys=['tour:status'], args=['draft', 'published'])")
    show("db.get('tour:status')")
