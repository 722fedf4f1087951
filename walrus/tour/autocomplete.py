"""The tour section of the autocomplete (:mod:`walrus.features.autocomplete`)."""

from __future__ import annotations

from typing import Any

from walrus.tour.runner import Section, Transcript, tour_section

SECTIONS: list[Section] = []


@tour_section("Autocomplete", into=SECTIONS)
def _autocomplete(db: Any, show: Transcript) -> None:
    """Store titles (with any data), then search by the start of their words:
    hits near the front of a title come first; boosts reorder them."""
    show("ac = db.autocomplete(namespace='tour:ac')")
    show("phrases = ['aa bb', 'aa cc', 'bb cc', 'bb aa cc', 'cc aa bb']")
    show("for phrase in phrases: ac.store(phrase)")
    show("ac.search('cc')")
    show("ac.search('cc', boosts={'bb cc': 2})")
    show("ac.store('cafe', 'Café Müller', data={'url': '/cafe'})")
    show("ac.search('cafe mu')")
    show("ac.remove('cafe')")
    show("ac.flush()")
