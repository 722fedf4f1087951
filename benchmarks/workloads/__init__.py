"""Workload modules: each ``workloads/<name>.py`` module has a ``WORKLOADS`` list."""

from __future__ import annotations
