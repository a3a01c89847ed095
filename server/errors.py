"""Every error reply text, in one place.

Redis's texts are copied byte for byte from Redis 7.0 (clients and tests match on them); the
Raftis-specific ones (CLUSTERDOWN, TIMEOUT, NOCLUSTER) are part of the contract in DESIGN.md §5:
CLUSTERDOWN and NOCLUSTER mean "certainly not applied", TIMEOUT means "may have been applied".

Constants are shared ``ErrorReply`` instances (replies are never mutated); functions build the
texts that quote the command or its arguments.
"""

from __future__ import annotations

from resp.types import ErrorReply

# --- generic ---------------------------------------------------------------------------------
SYNTAX = ErrorReply("ERR syntax error")
WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_INTEGER = ErrorReply("ERR value is not an integer or out of range")
NOT_FLOAT = ErrorReply("ERR value is not a valid float")
OVERFLOW = ErrorReply("ERR increment or decrement would overflow")
NAN_OR_INFINITY = ErrorReply("ERR increment would produce NaN or Infinity")
NO_SUCH_KEY = ErrorReply("ERR no such key")
DB_INDEX_OUT_OF_RANGE = ErrorReply("ERR DB index is out of range")
INVALID_FIRST_DB_INDEX = ErrorReply("ERR invalid first DB index")
INVALID_SECOND_DB_INDEX = ErrorReply("ERR invalid second DB index")
SAME_OBJECT = ErrorReply("ERR source and destination objects are the same")
INDEX_OUT_OF_RANGE = ErrorReply("ERR index out of range")
OFFSET_OUT_OF_RANGE = ErrorReply("ERR offset is out of range")
STRING_TOO_LONG = ErrorReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
BUSYKEY = ErrorReply("BUSYKEY Target key name already exists.")
NOT_POSITIVE_COUNT = ErrorReply("ERR value is out of range, must be positive")
HASH_VALUE_NOT_INTEGER = ErrorReply("ERR hash value is not an integer")
HASH_VALUE_NOT_FLOAT = ErrorReply("ERR hash value is not a float")
INVALID_CURSOR = ErrorReply("ERR invalid cursor")
EXPIRE_NX_XX_GT_LT = ErrorReply("ERR NX and XX, GT or LT options at the same time are not compatible")
EXPIRE_GT_LT = ErrorReply("ERR GT and LT options at the same time are not compatible")

# --- DUMP / RESTORE ---------------------------------------------------------------------------
DUMP_PAYLOAD_VERSION = ErrorReply("ERR DUMP payload version or checksum are wrong")
BAD_DATA_FORMAT = ErrorReply("ERR Bad data format")
INVALID_TTL = ErrorReply("ERR Invalid TTL value, must be >= 0")
INVALID_IDLETIME = ErrorReply("ERR Invalid IDLETIME value, must be >= 0")
INVALID_FREQ = ErrorReply("ERR Invalid FREQ value, must be >= 0 and <= 255")

# --- connection ------------------------------------------------------------------------------
NOPROTO = ErrorReply("NOPROTO unsupported protocol version")
PROTOCOL_VERSION_NOT_INTEGER = ErrorReply("ERR Protocol version is not an integer or out of range")
WRONGPASS = ErrorReply("WRONGPASS invalid username-password pair or user is disabled.")
AUTH_NOT_CONFIGURED = ErrorReply(
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
CLIENT_NAME_INVALID = ErrorReply("ERR Client names cannot contain spaces, newlines or special characters.")
NO_SUCH_CLIENT = ErrorReply("ERR No such client")
NOAUTH = ErrorReply("NOAUTH Authentication required.")

# --- transactions (used by MULTI/EXEC) -------------------------------------------------------
EXECABORT = ErrorReply("EXECABORT Transaction discarded because of previous errors.")
MULTI_NESTED = ErrorReply("ERR MULTI calls can not be nested")
EXEC_WITHOUT_MULTI = ErrorReply("ERR EXEC without MULTI")
DISCARD_WITHOUT_MULTI = ErrorReply("ERR DISCARD without MULTI")
WATCH_INSIDE_MULTI = ErrorReply("ERR WATCH inside MULTI is not allowed")

# --- Raftis ----------------------------------------------------------------------------------
CLUSTERDOWN = ErrorReply("CLUSTERDOWN No raft leader")
NOCLUSTER = ErrorReply("NOCLUSTER this node is not part of a cluster yet")
TIMEOUT_WRITE = ErrorReply("TIMEOUT the command was not committed in time; it may or may not have been applied")
TIMEOUT_READ = ErrorReply("TIMEOUT the read could not be confirmed by a quorum in time")
TIMEOUT_READ_APPLY = ErrorReply("TIMEOUT this node did not catch up with the read's index in time")
TRYAGAIN_LOST = ErrorReply("TRYAGAIN leadership changed before the command was committed; it was not applied")
TRYAGAIN_BUSY = ErrorReply("TRYAGAIN too many uncommitted writes; retry shortly")
TRYAGAIN_NOT_LEADER = ErrorReply("TRYAGAIN this node is not the leader any more")
TRYAGAIN_TX_LOST = ErrorReply("TRYAGAIN the leader changed during the transaction; EXEC will discard it")


def _quote(name: bytes | str) -> bytes:
    return name.encode() if isinstance(name, str) else name


def wrong_arity(name: bytes | str) -> ErrorReply:
    """``ERR wrong number of arguments for 'get' command``; ``name`` is the command's full
    lower-case name (``client|setname`` for a subcommand, as Redis 7 prints it)."""
    return ErrorReply(b"ERR wrong number of arguments for '" + _quote(name) + b"' command")


def unknown_command(argv: list[bytes]) -> ErrorReply:
    """Redis 7.0: ``ERR unknown command 'foo', with args beginning with: 'a' 'b' `` (each
    argument quoted and followed by a space, the name and arguments cut at 128 bytes)."""
    args = b""
    for arg in argv[1:]:
        room = 128 - len(args)
        if room <= 0:
            break
        args += b"'" + arg[: max(room, 0)] + b"' "
    return ErrorReply(b"ERR unknown command '" + argv[0][:128] + b"', with args beginning with: " + args)


def unknown_subcommand(sub: bytes, container: bytes | str) -> ErrorReply:
    """``ERR unknown subcommand 'foo'. Try CLIENT HELP.``"""
    c = _quote(container).upper()
    return ErrorReply(b"ERR unknown subcommand '" + sub[:128] + b"'. Try " + c + b" HELP.")


def subcommand_syntax(argv: list[bytes]) -> ErrorReply:
    """``ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.``
    (a subcommand given more arguments than any of its forms takes)."""
    return ErrorReply(b"ERR unknown subcommand or wrong number of arguments for '" + argv[1][:128] + b"'. Try "
                      + argv[0].upper() + b" HELP.")


def invalid_expire_time(command: bytes | str) -> ErrorReply:
    """``ERR invalid expire time in 'set' command`` (the name as the client spelled it)."""
    return ErrorReply(b"ERR invalid expire time in '" + _quote(command) + b"' command")


def unknown_option(option: bytes, command: bytes | str) -> ErrorReply:
    return ErrorReply(b"ERR Unsupported option " + option)


def timeout(detail: str) -> ErrorReply:
    return ErrorReply("TIMEOUT " + detail)


def nocluster(detail: str) -> ErrorReply:
    return ErrorReply("NOCLUSTER " + detail)


def moved(host: str, port: int) -> ErrorReply:
    """Follower redirect mode: the whole keyspace is slot range 0-16383 on the leader."""
    return ErrorReply(f"MOVED 0 {host}:{port}")
