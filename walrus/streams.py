"""walrus 0.9's import path for time series (``from walrus.streams import TimeSeries``).

The code lives in :mod:`walrus.features.time_series` and
:mod:`walrus.features.consumer_group`.
"""

from __future__ import annotations

from walrus.features.consumer_group import ConsumerGroup, ConsumerGroupStream
from walrus.features.time_series import (
    Message,
    TimeSeries,
    TimeSeriesStream,
    datetime_to_id,
    id_to_datetime,
)

__all__ = [
    "ConsumerGroup",
    "ConsumerGroupStream",
    "Message",
    "TimeSeries",
    "TimeSeriesStream",
    "datetime_to_id",
    "id_to_datetime",
]
