"""The tour sections of the containers (:mod:`walrus.features.containers`)."""

from __future__ import annotations

from typing import Any

from walrus.tour.runner import Section, Transcript, tour_section

SECTIONS: list[Section] = []


@tour_section("Containers", into=SECTIONS)
def _containers(db: Any, show: Transcript) -> None:
    """Hash, List, Set and ZSet act like dict, list, set and a sorted dict;
    every call is one round trip."""
    show("h = db.Hash('tour:charlie')")
    show("h.update(name='Charlie', favorite_cat='Huey')")
    show("h['name']")
    show("sorted(h.keys())")
    show("l = db.List('tour:names')")
    show("l.extend(['charlie', 'huey', 'mickey', 'zaizee'])")
    show("l[:2], l[-1], l[:0]")
    show("del l[0]")
    show("l.as_list()")
    show.note("set algebra takes keys of one cluster slot: a shared {tag}")
    show("s1, s2 = db.Set('tour:{pets}:s1'), db.Set('tour:{pets}:s2')")
    show("s1.add(*range(5))")
    show("s2.add(*range(3, 8))")
    show("sorted(s1 & s2)")
    show("z = db.ZSet('tour:ages')")
    show("z.add({'charlie': 31, 'huey': 3, 'mickey': 6, 'zaizee': 2.5})")
    show("z[:'mickey']")
    show("z[-2:, True]")


@tour_section("Arrays, bit fields, Bloom filters, HyperLogLog", into=SECTIONS)
def _more_containers(db: Any, show: Transcript) -> None:
    """Array is a list on a hash (O(1) index); BitField packs integers in bits;
    BloomFilter answers "maybe present" or "surely absent"; HyperLogLog counts
    distinct items in a few kilobytes."""
    show("a = db.Array('tour:array')")
    show("a.extend(['foo', 'bar', 'baz'])")
    show("a[-1] = 'nugget'")
    show("list(a)")
    show("bf = db.bit_field('tour:bits')")
    show("bf.set('u8', 0, 166).get('u4', 0).get('u4', 4).execute()")
    show("bloom = db.bloom_filter('tour:bloom', capacity=1000, error_rate=0.01)")
    show("bloom.add_many(['apple', 'pear'])")
    show("'apple' in bloom, 'grape' in bloom")
    show("hll = db.HyperLogLog('tour:visitors')")
    show("hll.add(*range(1000))")
    show("len(hll)")
