"""The guided tour behind ``python -m walrus tour``: sections of runnable examples.

The tour is a user of the features: its modules show them through ``db``
(any walrus database), and no feature imports the tour. :mod:`.runner` holds
the machinery (:class:`Transcript`, :func:`tour_section`, :func:`run_tour`);
each other module holds the sections of one part of walrus, and this package
puts them in :data:`SECTIONS` in the tour's order: the database first, then
the features alphabetically, then the models, and last the same features
with asyncio. A new section goes in the module of its part
(``@tour_section(title, into=SECTIONS)``); a new part is a module here, added
to ``PARTS``.
"""

from __future__ import annotations

from walrus.tour import (
    asyncio_tour,
    autocomplete,
    containers,
    coordination,
    database,
    graph,
    models,
    search,
    streams,
)
from walrus.tour.runner import (
    KEY_PREFIX,
    SECTIONS,
    WIDTH,
    Section,
    SectionFunction,
    Transcript,
    run_tour,
    tour_section,
)

__all__ = [
    "KEY_PREFIX",
    "SECTIONS",
    "WIDTH",
    "Section",
    "SectionFunction",
    "Transcript",
    "run_tour",
    "tour_section",
]

PARTS = (
    database,
    autocomplete,
    containers,
    coordination,
    graph,
    search,
    streams,
    models,
    asyncio_tour,
)

SECTIONS.extend(section for part in PARTS for section in part.SECTIONS)
