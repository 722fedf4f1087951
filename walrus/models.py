"""walrus 0.9's import path for models (``from walrus.models import Model``).

The code lives in :mod:`walrus.features.models`; this module exports the same
names.
"""

from __future__ import annotations

from walrus.features import models as _models
from walrus.features.models import *  # noqa: F403

__all__ = list(_models.__all__)
