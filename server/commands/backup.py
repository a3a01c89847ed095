"""RAFT.BACKUP: stream a consistent snapshot of this node's state (``server.backup``).

    RAFT.BACKUP BEGIN                      -> [id, index, term, size, crc32c, membership]
    RAFT.BACKUP CHUNK <id> <offset> <count> -> bulk string (at most 8 MiB)
    RAFT.BACKUP END <id>                   -> OK
"""

from __future__ import annotations

from typing import Any

from resp.types import OK, ErrorReply
from server.commands.registry import CONN, command


def _int(arg: bytes) -> int:
    try:
        v = int(arg)
    except ValueError:
        raise ErrorReply("ERR value is not an integer or out of range") from None
    if v < 0:
        raise ErrorReply("ERR value is out of range, must be positive")
    return v


@command("raft.backup", -2, "admin noscript", kind=CONN, group="raft",
         summary="Stream a consistent snapshot: BEGIN, CHUNK <id> <offset> <count>, END <id>")
def raft_backup(session: Any, argv: list[bytes]) -> Any:
    from server.backup import sessions_of

    node = session.server
    sub = argv[1].lower()
    backups = sessions_of(node)
    if sub == b"begin" and len(argv) == 2:
        async def begin() -> Any:
            from server.raft import AdminError

            try:
                return await backups.begin(node)
            except AdminError as e:
                raise ErrorReply(str(e)) from None
            except Exception as e:  # noqa: BLE001
                raise ErrorReply(f"ERR backup failed: {e}") from None

        return begin()
    if sub == b"chunk" and len(argv) == 5:
        bid, offset, count = _int(argv[2]), _int(argv[3]), _int(argv[4])

        async def chunk() -> Any:
            try:
                return await backups.chunk(bid, offset, count)
            except KeyError:
                raise ErrorReply(f"ERR no open backup {bid}") from None

        return chunk()
    if sub == b"end" and len(argv) == 3:
        return OK if backups.end(_int(argv[2])) else ErrorReply(f"ERR no open backup {argv[2].decode()}")
    return ErrorReply("ERR syntax error: RAFT.BACKUP BEGIN | CHUNK <id> <offset> <count> | END <id>")
