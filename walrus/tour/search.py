"""The tour section of the full-text search (:mod:`walrus.features.search`)."""

from __future__ import annotations

from typing import Any

from walrus.tour.runner import Section, Transcript, tour_section

SECTIONS: list[Section] = []


@tour_section("Full-text search", into=SECTIONS)
def _search(db: Any, show: Transcript) -> None:
    """Index documents with metadata, then search them: words are stemmed,
    stop words ignored, AND/OR/parentheses and "quoted phrases" combine,
    and hits come best first (BM25)."""
    show("idx = db.Index('tour:search')")
    show("idx.add('1', 'Walruses are large marine mammals', kind='fact')")
    show("idx.add('2', 'The walrus has long tusks and whiskers', kind='fact')")
    show("idx.add('3', 'Tusks of the walrus: a walrus uses its tusks', kind='quote')")
    show("[d['content'] for d in idx.search('walrus tusks')]")
    show("[key for key, doc in idx.search_items('mammal OR whiskers')]")
    show("idx.search('\"large marine\"')")
    show("idx.update('1', 'Walruses live in the Arctic', source='wiki')")
    show("idx.get_document('1')")
    show("idx.remove('1')")
    show("idx.search('arctic')")
