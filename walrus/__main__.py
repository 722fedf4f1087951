"""``python -m walrus``: the same as the ``walrus`` command."""

from __future__ import annotations

from walrus.cli import main

raise SystemExit(main())
