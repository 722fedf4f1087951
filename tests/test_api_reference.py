"""docs/api.md is generated from the docstrings and kept current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "tools/api_reference.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_public_name_has_a_section() -> None:
    import walrus

    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for name in walrus.__all__:
        assert f"## `{name}`" in text, name
