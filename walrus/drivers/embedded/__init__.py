"""The in-process core every embedded driver (rlite, Vedis, memory) shares.

An engine answers one command at a time; the core (:mod:`.core`) adds what a
server would: a lock shared by threads, WATCH, transactions
(:mod:`.transactions`), blocking commands (:mod:`.blocking`), pub/sub and
MONITOR (:mod:`.pubsub`), per-client state (:mod:`.clients`), connection
objects for redis-py code that asks for one (:mod:`.connection`), and the
named operations' Python twins. :class:`~.core.EmbeddedDatabase` is the
``redis.Redis`` whose commands run on the core.
"""
