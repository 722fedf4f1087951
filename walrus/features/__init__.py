"""Features (containers, streams, cache, ...), written against the Driver protocol."""
