"""The Lua runtime of the embedded engines (see :mod:`walrus.drivers.lua.scripting`).

``sandbox.lua``, ``cjson.lua`` and ``cmsgpack.lua`` are the Lua side; the
Python side is :mod:`~walrus.drivers.lua.runtime` (the interpreter and
``redis.call``), :mod:`~walrus.drivers.lua.calls` (what a script may call),
:mod:`~walrus.drivers.lua.libs` (struct, bit) and
:mod:`~walrus.drivers.lua.functions` (FUNCTION, FCALL).
"""
