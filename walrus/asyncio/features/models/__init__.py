"""Async twin of :mod:`walrus.features.models`, generated from ``walrus/features/models/__init__.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from walrus.features.models import writes as _writes
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
from walrus.asyncio.features.models.model import Model

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
