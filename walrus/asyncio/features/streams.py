"""Async twin of :mod:`walrus.features.streams`, generated from ``walrus/features/streams.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from typing import TYPE_CHECKING, Any, cast
from walrus.asyncio.features.consumer_group import ConsumerGroup
from walrus.asyncio.features.time_series import TimeSeries

if TYPE_CHECKING:
    from walrus.drivers.protocol import Driver
__all__ = ["StreamFactories"]


class StreamFactories:
    """``db.consumer_group(group, keys)`` and ``db.time_series(group, keys)``."""

    def _streams_driver(self) -> Driver:
        return cast("Driver", self)

    def consumer_group(
        self, group: Any, keys: Any, consumer: Any = None
    ) -> ConsumerGroup:
        """A :class:`~walrus.ConsumerGroup` named ``group`` over the streams
        ``keys`` (a key, a list, or ``{key: min_id}``); no I/O."""
        return ConsumerGroup(self._streams_driver(), group, keys, consumer)

    def time_series(self, group: Any, keys: Any, consumer: Any = None) -> TimeSeries:
        """A :class:`~walrus.TimeSeries`: a consumer group with datetime ids."""
        return TimeSeries(self._streams_driver(), group, keys, consumer)
