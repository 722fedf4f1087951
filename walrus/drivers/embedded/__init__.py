"""The in-process core every embedded driver (rlite, Vedis, memory) shares.

An engine (:mod:`.types`: the :class:`~.types.Engine` contract and the
RESP2-shaped replies it answers with) runs one command at a time; the core
adds what a server would:

* :mod:`.core`: :class:`~.core.EmbeddedCore`, one opened engine under a lock
  shared by threads: it runs commands (blocking ones wait without the lock,
  CLIENT UNBLOCK wakes them), pipelines, the named operations' Python twins,
  and closes with its last client;
* :mod:`.watch`: WATCH, by versioning the watched keys on every write (the
  core's base class);
* :mod:`.commands`: which commands the core answers itself, which keys a
  write names, what MONITOR shows;
* :mod:`.transactions`: MULTI/EXEC with Redis's queueing rules;
* :mod:`.blocking`: how each blocking command waits;
* :mod:`.pubsub`: pub/sub and MONITOR;
* :mod:`.clients`: per-client state (SELECT, CLIENT, HELLO, ...);
* :mod:`.shared`: the engines opened by name, shared by their clients;
* :mod:`.database`: :class:`~.database.EmbeddedDatabase`, the ``redis.Redis``
  whose commands run on the core, and its pipeline;
* :mod:`.replies`: what redis-py returns for an engine's replies;
* :mod:`.connection`: connection objects for redis-py code that asks for one.
"""
