"""walrus 0.9's import path for rate limits (``from walrus.rate_limit import
RateLimit, RateLimitException``). The code lives in
:mod:`walrus.features.rate_limit`.
"""

from __future__ import annotations

from walrus.exceptions import RateLimitException
from walrus.features.rate_limit import RateLimit, RateLimitLua, RateLimitStatus

__all__ = ["RateLimit", "RateLimitException", "RateLimitLua", "RateLimitStatus"]
