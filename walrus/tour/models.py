"""The tour section of the models (:mod:`walrus.features.models`)."""

from __future__ import annotations

from typing import Any

from walrus.tour.runner import Section, Transcript, tour_section

SECTIONS: list[Section] = []


@tour_section("Models", into=SECTIONS)
def _models(db: Any, show: Transcript) -> None:
    """Rows in hashes with secondary indexes: a save updates the row and its
    indexes in one atomic call; a query evaluates the whole filter in one
    round trip and fetches the rows in one more."""
    show("import datetime")
    show("from walrus import Model, TextField, DateField, IntegerField, SetField")
    show(
        "class User(Model):\n"
        "    __database__ = db\n"
        "    __namespace__ = 'tour:models'\n"
        "    name = TextField(primary_key=True)\n"
        "    dob = DateField(index=True)\n"
        "    visits = IntegerField(index=True, default=0)\n"
        "    bio = TextField(fts=True)\n"
        "    tags = SetField()\n"
    )
    show(
        "people = [\n"
        "    ('Charlie', 1983, 'writes python and redis'),\n"
        "    ('Huey', 2011, 'a cat who naps'),\n"
        "    ('Zaizee', 2012, 'a cat who plays'),\n"
        "]\n"
        "for name, year, bio in people:\n"
        "    User.create(name=name, dob=datetime.date(year, 1, 1), bio=bio)\n"
    )
    show("User.load('Huey').dob")
    show("born_since_2000 = User.dob >= datetime.date(2000, 1, 1)")
    show("[u.name for u in User.query(born_since_2000, order_by=User.name)]")
    show("[u.name for u in User.query(User.bio.search('cat AND naps'))]")
    show("huey = User.get(User.name == 'Huey')")
    show("huey.incr(User.visits, 3)")
    show("huey.tags.add('fluffy')")
    show("[u.name for u in User.query(User.visits > 0)]")
    show("User.count()")
