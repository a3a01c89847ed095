"""Generate ``docs/commands.md`` from the command table, so the compatibility list cannot drift
from what the server does.

    python -m server.commands.doc            # print the document
    python -m server.commands.doc --write    # rewrite docs/commands.md

``tests/compat/test_commands_doc.py`` fails when the committed file differs from the output.
Notes about Raftis-specific behaviour live in ``NOTES`` below; every other row shows the
command's summary.  The "not supported" list is the common Redis commands that are absent
from the table when the document is generated (they answer ``-ERR unknown command``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import server.commands  # noqa: F401  (registers every family)
from server.commands.registry import COMMANDS, CONN, READ, WRITE, Command

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "commands.md"

_KIND = {WRITE: "write", READ: "read", CONN: "conn"}

# Where Raftis differs from a single redis-server, or the row needs more than the summary.
NOTES: dict[str, str] = {
    "blpop": "blocks on the leader; the pop is decided by the log, so every node pops the same element",
    "brpop": "as BLPOP",
    "blmove": "as BLPOP",
    "brpoplpush": "as BLPOP",
    "blmpop": "as BLPOP",
    "spop": "the members are drawn from a generator seeded by the log entry: every node pops the same",
    "srandmember": "random on the node that serves the read",
    "hrandfield": "random on the node that serves the read",
    "randomkey": "random on the node that serves the read",
    "pfcount": "a read: the count is not stored back into the value's header, as Redis does (the value's bytes "
               "are Redis's otherwise, sparse and dense)",
    "setbit": "a string is immutable here: a change writes a new one, so its cost grows with the string's length",
    "bitfield": "as SETBIT",
    "dump": ("Redis 7.0's format (RDB 10): the same bytes as redis-server for strings, lists, streams and the "
             "listpack and intset encodings; hashtable sets and hashes in insertion order; LZF for at most 256 KB "
             "of input per call, the rest raw; a stream node holding deleted entries is written with its live "
             "entries only"),
    "restore": ("decoded at apply time on every node; reads every encoding Redis 7.0 reads except module values; "
                "IDLETIME and FREQ are checked but ignored (no LRU/LFU); a corrupt payload is always refused whole "
                "(Redis keeps some unless sanitize-dump-payload is on)"),
    "acl|setuser": ("users belong to the node, as in Redis Cluster: run it on every node (or share the ACL file "
                    "and ACL LOAD); command rules are listed as given (a later rule for the same command "
                    "replacing an earlier one), where Redis 7.0 recomputes them; no selectors and no %R~/%W~ "
                    "key patterns"),
    "acl|deluser": "the node's users (as ACL SETUSER); their clients are disconnected, as in Redis",
    "acl|load": "replaces the node's users; clients of users other than default are disconnected, as in Redis",
    "acl|save": "writes the node's users to its ACL file (aside, then renamed over it)",
    "georadius": ("a write, as Redis flags it (its STORE option writes): every call goes through the log, "
                  "with or without STORE; GEORADIUS_RO and GEOSEARCH are reads"),
    "georadiusbymember": "as GEORADIUS",
    "geosearchstore": ("which members match, and the distances STOREDIST stores, use the C library's sin, cos "
                       "and asin on every node, as Redis does: nodes should run the same C library"),
    "lcs": ("also refuses two non-empty strings over 1,000,000 bytes together (`-ERR Strings too long for "
            "LCS ...`), besides Redis's proto-max-bulk-len bound on its table"),
    "client|tracking": ("each node tells its own clients (every node applies every write); a script's reads "
                        "are tracked by the keys it declares; NOLOOP holds for clients of the leader, while a "
                        "follower's clients, whose writes it relays, are told of their own changes too"),
    "watch": "a linearizable read of the keys' versions; EXEC aborts if any changed (expiry included)",
    "eval": ("a write: the script runs on every node as its log entry is applied, in a fresh Lua state, with "
             "the entry's time (TIME) and a fixed random sequence; stopped after 50M Lua instructions or 50k "
             "calls (its writes so far stay); cjson, cmsgpack, bit and struct as in Redis (cjson's settings last "
             "one run); no coroutine, collectgarbage or bytecode loading; an error from a redis.call or a "
             "library in tail position names no line; refused to users limited by ACL; a `#!lua flags=...` "
             "first line as in Redis 7 (`no-writes` runs it read-only, still through the log: EVAL_RO is the "
             "read; without `no-writes` or `allow-oom` it is refused over maxmemory)"),
    "evalsha": "as EVAL; the script cache is replicated (EVAL and SCRIPT LOAD fill it on every node) and kept in "
               "snapshots",
    "eval_ro": "a read (linearizable); as EVAL otherwise, and it does not add the script to the cache",
    "evalsha_ro": "a read (linearizable); as EVALSHA otherwise",
    "script|load": "a write: every node's cache gets the script",
    "fcall": "a write, as EVAL: the library's code runs again in a fresh Lua state on every node, then the "
             "function; a function flagged no-writes runs read-only",
    "fcall_ro": "a read (linearizable), for functions flagged no-writes",
    "function|load": "a write: every node checks and keeps the library; libraries are in snapshots",
    "function|list": "libraries in the order they were loaded (Redis's order is its hash table's)",
    "function|kill": "always -NOTBUSY: functions run as the log is applied and are bounded instead",
    "function|stats": "running_script is always nil",
    "script|flush": "a write: every node's cache is emptied (ASYNC and SYNC are the same)",
    "migrate": "run by the leader (a follower relays it with the client's database) while it goes on serving; "
               "the copied keys are deleted through the log only if none was written meanwhile (else none is, "
               "and MIGRATE says so); not from scripts or inside MULTI; no connection cache, no cluster-mode "
               "RESTORE-ASKING",
    "sync": "only after REPLCONF rdb-only 1 (redis-cli --rdb): an RDB file of this node's data, then the "
            "connection closes; there is no replication stream for Redis replicas",
    "psync": "as SYNC, after +FULLRESYNC",
    "replconf": "listening-port, ip-address, capa, rdb-only, rdb-filter-only; ACK and GETACK are refused",
    "script|debug": "NO is accepted; YES and SYNC are refused: there is no Lua debugger",
    "script|kill": "always -NOTBUSY: scripts run as the log is applied and are bounded instead",
    "exec": ("the whole transaction is one log entry, applied all or nothing on every node; if leadership "
             "moved since MULTI it is discarded (`-EXECABORT`), and since WATCH it aborts (null reply)"),
    "multi": ("on a follower the transaction is relayed to the leader; of the connection commands only PING, "
              "ECHO and SELECT can be queued (the transaction is one log entry), others fail with "
              "`-ERR Command not allowed inside a transaction` and abort it"),
    "select": "16 databases",
    "swapdb": "",
    "flushall": "ASYNC/SYNC accepted; always synchronous",
    "flushdb": "ASYNC/SYNC accepted; always synchronous",
    "publish": ("goes through the log: every node delivers it to its own subscribers, in log order; the reply "
                "counts the leader's subscribers only (through a follower too)"),
    "subscribe": ("subscriptions are per node; messages published on any node reach them, and so do keyspace "
                  "notifications (`notify-keyspace-events`, set per node) of writes made on any node"),
    "psubscribe": "as SUBSCRIBE",
    "spublish": ("as PUBLISH, for shard channels: Raftis is one shard owning every slot, so a message reaches shard "
                 "subscribers on every node"),
    "ssubscribe": "as SUBSCRIBE (shard channels are a namespace of their own, as in Redis)",
    "readonly": "this connection's reads are served from the node's local state (may be stale)",
    "readwrite": "back to linearizable reads",
    "hello": "RESP2 and RESP3",
    "info": "Redis sections plus `raft`",
    "config|set": "only the settings Raftis has",
    "cluster|slots": "one shard, all 16384 slots, the Raft leader as master and the other members as replicas",
    "cluster|shards": "as CLUSTER SLOTS",
    "cluster|nodes": "as CLUSTER SLOTS; the bus port shown is the Raft peer port",
    "cluster|info": "`cluster_state:ok` while a leader is known, `fail` otherwise",
    "cluster|myid": "40 hex digits derived from the cluster id and the Raft node id",
    "cluster|countkeysinslot": "counts in the selected database",
    "cluster|getkeysinslot": "looks in the selected database",
    "latency|histogram": ("each command's time from its request read to its reply ready (a write's includes its "
                          "commit), in power-of-two buckets shown at Redis's microsecond edges; CONFIG RESETSTAT "
                          "clears them"),
    "object|freq": "Redis's error for a server without an LFU maxmemory policy (Raftis evicts nothing)",
    "object|idletime": "an error for a key that exists: access times are not recorded (nil for a missing key)",
    "monitor": ("shows the commands this node's own clients send (on a follower, its clients' commands it relays; "
                "the leader does not show them again), after they ran, in Redis's format, with the `[<db> lua]` "
                "lines of the commands a script ran (a follower may show a script without them: it can apply "
                "the script after relaying its reply)"),
    "wait": ("counts the other nodes (followers and learners) whose log holds the client's last write, by their "
             "Raft match index (a write is on a majority before its OK anyway); a client that wrote nothing "
             "counts those caught up to the commit index; on a follower the leader is asked and counts against "
             "its commit index, which is at or after the client's writes"),
    "role": ("`master` on the leader with the other members as replicas (offsets are Raft log indexes: the "
             "leader's last index, each follower's match index); `slave` on a follower, pointing at the leader, "
             "with its applied index"),
    "failover": ("a Raft leadership transfer (as RAFT.TRANSFERLEADER) to the most up-to-date voter, or to the one "
                 "whose client address TO names; Redis's checks and replies (OK, then the transfer); FORCE is "
                 "checked but never hands over to a node that lacks entries; ABORT stops a transfer not yet "
                 "handed over"),
    "replicaof": "refused: replication is Raft's; RAFT.ADDNODE and RAFT.REMOVENODE change the members",
    "slaveof": "as REPLICAOF",
    "save": "takes a Raft snapshot of this node (as RAFT.SNAPSHOT) and replies once it is durable",
    "module|list": "always empty: Raftis loads no Redis modules",
    "module|load": "refused: Redis modules are C libraries for redis-server (with Redis's refusal unless "
                   "enable-module-command allows)",
    "module|loadex": "refused, as MODULE LOAD",
    "module|unload": "there is never a module to unload",
    "bgsave": "starts a Raft snapshot of this node (forked, as Redis); SCHEDULE as in Redis",
    "bgrewriteaof": ("starts a Raft snapshot of this node, which drops the log before it (the node's append-only "
                     "file is its Raft log); scheduled after a snapshot in progress, as Redis after a BGSAVE"),
    "lastsave": ("the time of this node's newest snapshot (its file's time after a restart); a SAVE with nothing "
                 "applied since counts as a save then"),
    "memory|usage": ("an estimate from Python's object sizes: the key, one table entry and the value; a "
                     "collection's size is extrapolated from its first SAMPLES elements, as Redis samples"),
    "memory|stats": ("Redis's fields; totals are the process's resident memory, the allocator and "
                     "fragmentation fields (which Python cannot tell apart) show it too, with ratios of 1"),
    "memory|doctor": "reports an empty instance, or a memory peak over 150% of the current use",
    "memory|malloc-stats": "glibc's mallinfo2 figures",
    "memory|purge": "a full garbage collection, then glibc's malloc_trim",
    "lolwut": ("Redis 7.0's art: VERSION 5 (schotter) and 6 (skyline), random as Redis's; signed with Raftis's "
               "version"),
    "client|unblock": ("wakes a client blocked on this node; blocking commands wait on the leader, so on a "
                       "follower, whose clients' blocking commands wait there, it finds none (0)"),
    "client|reply": "as Redis; a connection costs nothing extra unless it turns replies off",
    "xread": "with BLOCK it goes through the log, like the other blocking commands",
    "debug": "only with enable-debug-command (as in Redis); DIGEST and DIGEST-VALUE compute Redis's signatures of "
             "this node's applied data, plus SLEEP, ERROR, PROTOCOL, LOG, SET-ACTIVE-EXPIRE; the subcommands "
             "that inspect redis-server's own structures are refused; not inside MULTI",
    "raft.forwarded": "sent by a follower on its relay connection to the leader; not for clients",
}

# Common Redis 7 commands; those not in the table are listed as unsupported.
COMMON_REDIS: dict[str, list[str]] = {
    "string": ["lcs", "setbit", "getbit", "bitcount", "bitop", "bitpos", "bitfield", "bitfield_ro"],
    "sorted set": ["zadd", "zrem", "zscore", "zincrby", "zrange", "zrangebyscore", "zrevrange", "zrank", "zcard",
                   "zcount", "zpopmin", "zpopmax", "bzpopmin", "bzpopmax", "zunionstore", "zinterstore",
                   "zrangestore", "zmpop", "bzmpop", "zscan", "zrandmember"],
    "stream": ["xadd", "xrange", "xrevrange", "xread", "xreadgroup", "xgroup", "xack", "xlen", "xtrim", "xdel",
               "xinfo", "xclaim", "xautoclaim", "xpending", "xsetid"],
    "hyperloglog": ["pfadd", "pfcount", "pfmerge"],
    "geo": ["geoadd", "geodist", "geohash", "geopos", "georadius", "geosearch", "geosearchstore"],
    "scripting and functions": ["eval", "evalsha", "eval_ro", "evalsha_ro", "script", "function", "fcall",
                                "fcall_ro"],
    "keys": ["sort", "sort_ro", "dump", "restore", "migrate", "wait", "waitaof"],
    "pub/sub": ["spublish", "ssubscribe", "sunsubscribe"],
    "server": ["save", "bgsave", "bgrewriteaof", "lastsave", "shutdown", "monitor", "debug", "replicaof", "slaveof",
               "sync", "psync", "acl", "module", "latency", "slowlog", "memory", "failover", "lolwut", "role"],
    "client": ["client|kill", "client|pause", "client|unpause", "client|reply", "client|tracking",
               "client|caching", "client|getredir", "client|trackinginfo", "client|unblock"],
}


def _display(cmd: Command) -> str:
    return cmd.name.decode().replace("|", " ").upper()


def _rows() -> list[Command]:
    rows: list[Command] = []
    for name in sorted(COMMANDS):
        cmd = COMMANDS[name]
        if cmd.internal:
            continue
        if cmd.subcommands:
            if cmd.arity == -1:  # answers on its own too (COMMAND)
                rows.append(cmd)
            rows.extend(cmd.subcommands[s] for s in sorted(cmd.subcommands))
        else:
            rows.append(cmd)
    return rows


def _known(name: str) -> bool:
    base, _, sub = name.partition("|")
    cmd = COMMANDS.get(base.encode())
    if cmd is None or cmd.internal:
        return False
    if not sub:
        return True
    return bool(cmd.subcommands) and sub.encode() in cmd.subcommands  # type: ignore[operator]


def _note(cmd: Command) -> str:
    name = cmd.name.decode()
    note = NOTES.get(name)
    if not note:
        note = cmd.summary
    return note.replace("|", "\\|")


def render() -> str:
    rows = _rows()
    out = [
        "# Command compatibility",
        "",
        "Generated from the command table by `python -m server.commands.doc --write`; do not edit by hand "
        "(`tests/compat/test_commands_doc.py` fails when this file is stale).",
        "",
        "Every command below behaves as in Redis 7 (replies are checked byte for byte against redis-server "
        "by the differential tests) unless its notes say otherwise.  *Kind* says where it runs: `write` "
        "goes through the Raft log and is applied on every node, `read` runs on the local keyspace once "
        "the read is known to be linearizable (or at once on a `READONLY` connection), `conn` is a "
        "connection or server command that never touches the log.",
        "",
        f"{len(rows)} commands and subcommands.",
        "",
        "| command | supported | kind | arity | notes |",
        "|---|---|---|---|---|",
    ]
    for cmd in rows:
        out.append(f"| `{_display(cmd)}` | yes | {_KIND[cmd.kind]} | {cmd.arity} | {_note(cmd)} |")
    out += [
        "",
        "## Not supported",
        "",
        "These common Redis commands are not implemented; they answer "
        "`-ERR unknown command '<name>', with args beginning with: ...` (or `-ERR unknown subcommand` for "
        "a container Raftis has), never a different result.",
        "",
    ]
    for family, names in COMMON_REDIS.items():
        missing = [n for n in names if not _known(n)]
        if missing:
            out.append(f"- {family}: " + ", ".join(f"`{n.replace('|', ' ').upper()}`" for n in missing))
    out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {DOC_PATH}")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        DOC_PATH.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
