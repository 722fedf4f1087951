"""walrus benchmarks: ``python -m benchmarks --help`` (see docs/benchmarks.md)."""

from __future__ import annotations
