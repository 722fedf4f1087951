"""The crash fuzzer on rlite, under its old command line (``test_rlite.py``).

``python tests/rlite_fuzz.py SEED COUNT [PATH]`` runs
:mod:`fuzz.crash_child` on rlite in memory, or in a file beside PATH; the
fuzzer itself, for every engine, is ``tests/fuzz`` (docs/testing.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz.crash_child import main

if __name__ == "__main__":
    seed, count, *path = sys.argv[1:]
    where = ["rlite-file", seed, count, str(Path(path[0]).parent)] if path else []
    main(where or ["rlite-memory", seed, count])
