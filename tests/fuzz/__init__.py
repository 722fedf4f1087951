"""The fuzzers: a differential one (every embedded engine answers like a
real server) and a crash-detecting one (no input kills the interpreter or
raises anything but a walrus or redis-py exception). See docs/testing.md."""
