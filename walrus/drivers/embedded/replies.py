"""What redis-py returns for an in-process engine's replies.

An engine answers in RESP2 shapes (:mod:`.types`); redis-py's reply
callbacks expect what its parser gives. :func:`redis_value` turns one reply
into redis-py's value (decoding it when ``decode_responses`` is on) and
:func:`parse_pipeline` does it for a pipeline's replies, errors included.
Every client over an in-process engine uses them (the embedded drivers and
ledis).
"""

from __future__ import annotations

from typing import Any

from redis.client import EMPTY_RESPONSE, NEVER_DECODE, Pipeline
from redis.exceptions import ResponseError

from walrus.drivers.embedded.types import Reply
from walrus.exceptions import CommandError

__all__ = ["decoded", "parse_pipeline", "redis_value", "run_callback"]


def redis_value(
    client: Any,
    encoder: Any,
    backend: str,
    command_name: Any,
    reply: Reply,
    options: dict[str, Any],
) -> Any:
    """What redis-py returns for a RESP2 ``reply`` that is not an error:
    decoded by ``encoder`` unless NEVER_DECODE (when ``decode_responses`` is
    on), then passed through ``client``'s response callback for
    ``command_name``."""
    options.pop(EMPTY_RESPONSE, None)
    options.pop("keys", None)
    if NEVER_DECODE in options:
        del options[NEVER_DECODE]
    elif encoder.decode_responses:
        reply = decoded(encoder, reply)
    callbacks: Any = client.response_callbacks
    callback = callbacks.get(command_name) if command_name else None
    if callback is None:
        return reply
    return run_callback(callback, reply, backend, command_name, options)


def run_callback(
    callback: Any, reply: Reply, backend: str, command_name: Any, options: Any
) -> Any:
    """redis-py's response ``callback`` on ``reply``; a reply it cannot
    parse raises CommandError naming the backend and the command."""
    try:
        return callback(reply, **options)
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
        raise CommandError(
            f"{backend} gave {command_name} a reply redis-py cannot parse: "
            f"{reply!r:.200}"
        ) from exc


def decoded(encoder: Any, reply: Reply) -> Reply:
    """A reply with its bytes decoded by ``encoder`` (lists walked)."""
    if isinstance(reply, bytes):
        return encoder.decode(reply)
    if isinstance(reply, list):
        return [decoded(encoder, r) for r in reply]
    return reply


def parse_pipeline(
    pipe: Pipeline, db: Any, replies: list[Reply], raise_on_error: bool
) -> list[Any]:
    """What redis-py's ``execute()`` returns for ``pipe``'s queued commands.

    ``db.parse_reply`` turns each reply into redis-py's value; an error is
    returned in its place, or (``raise_on_error``) the first one is raised,
    annotated with its position as redis-py does.
    """
    results: list[Any] = []
    annotate: Any = pipe.annotate_exception
    for (args, options), reply in zip(pipe.command_stack, replies, strict=True):
        try:
            results.append(db.parse_reply(args[0], reply, dict(options)))
        except ResponseError as exc:
            if raise_on_error:
                annotate(exc, len(results) + 1, args)
                raise
            results.append(exc)
    return results
