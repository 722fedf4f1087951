"""The tour sections of streams, consumer groups and the stream worker
(:mod:`walrus.features.streams`).
"""

from __future__ import annotations

from typing import Any

from walrus.drivers.protocol import Capability
from walrus.tour.runner import Section, Transcript, tour_section

SECTIONS: list[Section] = []


@tour_section("Streams", needs=[Capability.STREAMS], into=SECTIONS)
def _streams(db: Any, show: Transcript) -> None:
    """A Stream is an append-only log; a consumer group hands each message to
    one consumer and tracks what was acknowledged. One round trip per call."""
    show("log = db.Stream('tour:log')")
    show("first = log.add({'event': 'signup'}, id='1-0')")
    show("log.add({'event': 'login'}, id='2-0')")
    show("log[first:], len(log)")
    show("cg = db.consumer_group('tour:workers', ['tour:log'])")
    show("cg.create()")
    show("cg.read(count=1)")
    show("cg.streams['tour:log'].pending()[0]['times_delivered']")
    show("cg.streams['tour:log'].ack('1-0')")
    show("cg.destroy()")


@tour_section("Stream worker", needs=[Capability.STREAMS], into=SECTIONS)
def _worker(db: Any, show: Transcript) -> None:
    """cg.consume() is a consumer loop: a message is acknowledged when the
    loop body finishes, failures are redelivered, then dead-lettered."""
    show("jobs = db.consumer_group('tour:jobs', ['tour:queue'])")
    show("jobs.create()")
    show("for n in '123': jobs.streams['tour:queue'].add({'n': n})")
    show("""
    done = []
    for message in jobs.consume(block=10, stop_when_empty=True):
        done.append(message.data)
    """)
    show("done, jobs.streams['tour:queue'].pending()")
    show.note("run(handler) keeps going when the handler raises; see docs/streams.md")
    show("jobs.destroy()")
