"""Drivers: each serves the Driver protocol (:mod:`~walrus.drivers.protocol`).

One subpackage per engine: :mod:`.server` (a Redis/Valkey server),
:mod:`.rlite`, :mod:`.vedis`, :mod:`.ledis`; :mod:`.memory` is the
pure-Python engine. What the in-process engines share is in
:mod:`.embedded` (the core: locking, transactions, blocking, pub/sub),
:mod:`.emulation` (the Redis commands in Python, over a record store) and
:mod:`.lua` (Lua for the engines without it). :mod:`.urls` reads the
embedded engines' URLs; :mod:`.command_table` and :mod:`.glob` are the
command facts and the pattern matcher they all use. docs/architecture.md
draws the layers.
"""
