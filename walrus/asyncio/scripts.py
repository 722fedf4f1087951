"""Async twin of :mod:`walrus.scripts`, generated from ``walrus/scripts.py`` by ``tools/generate_async.py``.

Do not edit: change the sync source and run the script. The sync module's documentation applies."""

from __future__ import annotations
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from redis.exceptions import ResponseError
from walrus.exceptions import WalrusError, WrongType, command_error

if TYPE_CHECKING:
    from walrus.asyncio.api import AsyncDatabaseAPI
from walrus.scripts import TWINS, Twin, lua_source, twin

__all__ = ["TWINS", "Scripts", "Twin", "lua_source", "twin"]


class Scripts:
    """The named atomic operations of one database, as typed methods."""

    def __init__(self, db: AsyncDatabaseAPI) -> None:
        self._db = db

    async def run(
        self,
        name: str,
        keys: Sequence[Any] = (),
        args: Sequence[Any] = (),
        client: Any = None,
    ) -> Any:
        """Run the operation ``name`` (on ``client``, e.g. a pipeline, if given)."""
        try:
            return await self._db.run_named_operation(
                name, list(keys), list(args), client
            )
        except ResponseError as exc:
            error = exc if isinstance(exc, WalrusError) else command_error(str(exc))
            if isinstance(error, WrongType):
                raise WrongType(f"{exc} (keys {list(keys)!r})", key=str(keys)) from exc
            if error is exc:
                raise
            raise error from exc

    async def cas(self, key: Any, expected: Any, new: Any, exact: bool = False) -> bool:
        """Set ``key`` to ``new`` if its value starts with ``expected``.

        With ``exact=True`` the whole value must equal ``expected``. O(1);
        one round trip.
        """
        flag = b"1" if exact else b"0"
        return bool(await self.run("cas", [key], [expected, new, flag]))
