"""Models: typed rows in hashes with secondary indexes and composable queries.

See :mod:`walrus.features.models.model` for costs and
:mod:`walrus.features.models.layout` for the key layout (walrus 0.9's).
"""

from __future__ import annotations

from walrus.features.models import writes as _writes  # noqa: F401  (twins)
from walrus.features.models.expressions import Expression, Ordering
from walrus.features.models.fields import (
    AutoIncrementField,
    BooleanField,
    ByteField,
    ContainerField,
    DateField,
    DateTimeField,
    Field,
    FloatField,
    HashField,
    IntegerField,
    JSONField,
    ListField,
    PickledField,
    SetField,
    TextField,
    UUIDField,
    ZSetField,
)
from walrus.features.models.model import Model

__all__ = [
    "AutoIncrementField",
    "BooleanField",
    "ByteField",
    "ContainerField",
    "DateField",
    "DateTimeField",
    "Expression",
    "Field",
    "FloatField",
    "HashField",
    "IntegerField",
    "JSONField",
    "ListField",
    "Model",
    "Ordering",
    "PickledField",
    "SetField",
    "TextField",
    "UUIDField",
    "ZSetField",
]
