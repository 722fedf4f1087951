"""Generated package (see tools/generate_async.py)."""
