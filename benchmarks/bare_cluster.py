"""A bare replicated server: the network and disk work of a 3-node Raft cluster in Python, and
almost none of its logic.

It is the floor for the 3-node rows of the benchmark, built from Raftis's parts (uvloop,
``asyncio.Protocol``, hiredis) the way ``benchmarks.floor``'s bare servers are for one node.

- The leader answers SET, GET and PING. It applies a SET to its dict at once and appends a
  record to the loop turn's batch. At the end of the turn it writes the batch to its own log,
  without fdatasync, and sends it to both followers in one frame each. It answers the turn's
  SETs once both followers report the batch durable: two durable copies of three are a
  majority, as in a Raftis leader that holds its own writes.
- A GET waits for one round trip to one follower: the heartbeat round of a ReadIndex
  check, one round in flight, the reads arriving meanwhile going with the next.
- A follower reads whatever frames have arrived, writes their records with one ``write`` and
  one ``fdatasync`` on the loop thread, and acknowledges the highest batch.

What it leaves out: terms, elections, log matching, commit indexes, snapshots, membership,
checking what it parses, and applying after commit (a GET reads the dict before the SETs it
sees are committed, which is fine for a load of only SETs or only GETs and wrong otherwise).
A connection's replies still go out in order.
"""

from __future__ import annotations

import asyncio
import os
import struct
import sys
from collections import deque

from benchmarks.processes import ProcessSet, free_ports
from benchmarks.systems import Server

APPEND, PING = 0, 1
TO_FOLLOWER = struct.Struct("!BQI")  # kind, batch id, payload length; the payload follows
TO_LEADER = struct.Struct("!BQ")  # kind, highest batch id done


def bare_command(data: dict[bytes, bytes], records: list[bytes], cmd: list[bytes]) -> tuple[bytes, bool]:
    """What every bare server does with one request: its reply, and whether it was a SET
    (whose log record went into ``records``)."""
    name = cmd[0].upper()
    if name == b"SET" and len(cmd) == 3:
        data[cmd[1]] = cmd[2]
        records.append(b"%d %s %s\n" % (len(cmd[2]), cmd[1], cmd[2]))
        return b"+OK\r\n", True
    if name == b"GET" and len(cmd) == 2:
        v = data.get(cmd[1])
        return (b"$-1\r\n" if v is None else b"$%d\r\n%s\r\n" % (len(v), v)), False
    if name == b"PING":
        return b"+PONG\r\n", False
    if name == b"CONFIG":
        return b"*0\r\n", False
    return b"-ERR the bare server knows SET, GET and PING only\r\n", False


def serve_follower(port: int, directory: str) -> None:
    import uvloop

    fd = os.open(os.path.join(directory, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    class Follower(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buf = bytearray()

        def data_received(self, chunk: bytes) -> None:
            buf = self.buf
            buf += chunk
            records = []
            appended = pinged = 0
            pos = 0
            size = TO_FOLLOWER.size
            while len(buf) - pos >= size:
                kind, batch, length = TO_FOLLOWER.unpack_from(buf, pos)
                if len(buf) - pos - size < length:
                    break
                if kind == APPEND:
                    records.append(bytes(buf[pos + size:pos + size + length]))
                    appended = batch
                else:
                    pinged = batch
                pos += size + length
            del buf[:pos]
            if records:
                os.write(fd, b"".join(records))
                os.fdatasync(fd)
            out = b""
            if appended:
                out += TO_LEADER.pack(APPEND, appended)
            if pinged:
                out += TO_LEADER.pack(PING, pinged)
            if out:
                self.transport.write(out)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Follower, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    uvloop.run(main())


def serve_leader(port: int, directory: str, follower_ports: list[int]) -> None:
    import hiredis
    import uvloop

    data: dict[bytes, bytes] = {}
    fd = os.open(os.path.join(directory, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    links: list[asyncio.Transport] = []
    acked = [0] * len(follower_ports)

    class Group:
        """The replies of one connection in one loop turn, answered together."""

        __slots__ = ("conn", "replies", "done")

        def __init__(self, conn: Client) -> None:
            self.conn = conn
            self.replies: list[bytes] = []
            self.done = False

    class Turn:
        def __init__(self) -> None:
            self.records: list[bytes] = []
            self.writes: list[Group] = []  # groups with a SET, answered when the batch is durable
            self.reads: list[Group] = []  # groups of reads only, answered after a round trip

    state = {"turn": Turn(), "scheduled": False, "next_id": 1, "ping": 0}
    waiting_writes: deque[tuple[int, list[Group]]] = deque()
    waiting_reads: list[Group] = []  # for the round in flight
    next_reads: list[Group] = []  # for the next round

    def complete(groups: list[Group]) -> None:
        for group in groups:
            group.done = True
            conn = group.conn
            out = []
            while conn.groups and conn.groups[0].done:
                out.extend(conn.groups.popleft().replies)
            if out and not conn.transport.is_closing():
                conn.transport.write(b"".join(out))

    def end_turn() -> None:
        state["scheduled"] = False
        turn = state["turn"]
        state["turn"] = Turn()
        if turn.records:
            batch = state["next_id"]
            state["next_id"] += 1
            payload = b"".join(turn.records)
            os.write(fd, payload)
            frame = TO_FOLLOWER.pack(APPEND, batch, len(payload)) + payload
            for link in links:
                link.write(frame)
            waiting_writes.append((batch, turn.writes))
        if turn.reads:
            next_reads.extend(turn.reads)
            if not state["ping"]:
                start_round()

    def start_round() -> None:
        waiting_reads.extend(next_reads)
        next_reads.clear()
        state["ping"] = state["next_id"]
        state["next_id"] += 1
        links[0].write(TO_FOLLOWER.pack(PING, state["ping"], 0))

    class Link(asyncio.Protocol):
        def __init__(self, index: int) -> None:
            self.index = index
            self.buf = b""

        def data_received(self, chunk: bytes) -> None:
            buf = self.buf + chunk
            size = TO_LEADER.size
            pos = 0
            while len(buf) - pos >= size:
                kind, batch = TO_LEADER.unpack_from(buf, pos)
                pos += size
                if kind == APPEND:
                    acked[self.index] = batch
                elif batch == state["ping"]:
                    state["ping"] = 0
                    done = waiting_reads[:]
                    waiting_reads.clear()
                    complete(done)
                    if next_reads:
                        start_round()
            self.buf = buf[pos:]
            durable = min(acked)
            while waiting_writes and waiting_writes[0][0] <= durable:
                complete(waiting_writes.popleft()[1])

    class Client(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.reader = hiredis.Reader()
            self.groups: deque[Group] = deque()

        def data_received(self, chunk: bytes) -> None:
            self.reader.feed(chunk)
            turn = state["turn"]
            group = None
            wrote = False
            while (cmd := self.reader.gets()) is not False:
                reply, is_set = bare_command(data, turn.records, cmd)
                wrote = wrote or is_set
                if group is None:
                    group = Group(self)
                    self.groups.append(group)
                group.replies.append(reply)
            if group is None:
                return
            (turn.writes if wrote else turn.reads).append(group)
            if not state["scheduled"]:
                state["scheduled"] = True
                asyncio.get_running_loop().call_soon(end_turn)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for i, fport in enumerate(follower_ports):
            for _ in range(200):  # the followers may still be starting
                try:
                    transport, _ = await loop.create_connection(lambda i=i: Link(i), "127.0.0.1", fport)
                    break
                except OSError:
                    await asyncio.sleep(0.05)
            else:
                raise SystemExit(f"follower on port {fport} does not answer")
            links.append(transport)
        server = await loop.create_server(Client, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    uvloop.run(main())


class BareCluster:
    """A bare leader and two bare followers; ``leader`` is the server clients talk to."""

    def __init__(self, procs: ProcessSet, root: str) -> None:
        port, f1, f2 = free_ports(3)
        base = [sys.executable, "-m", "benchmarks.bare_cluster"]
        d = os.path.join(root, "bare-3")
        self.followers = [Server(f"bare-3 follower {i + 1}", fport, f"{d}-f{i + 1}",
                                 [*base, "follower", str(fport), f"{d}-f{i + 1}"], procs)
                          for i, fport in enumerate((f1, f2))]
        self.leader = Server("bare-3 leader", port, f"{d}-leader",
                             [*base, "leader", str(port), f"{d}-leader", str(f1), str(f2)], procs)

    @property
    def servers(self) -> list[Server]:
        return [self.leader, *self.followers]

    def start(self) -> BareCluster:
        for srv in self.followers:
            srv.start()
        self.leader.start()
        self.leader.wait_ping()
        return self


if __name__ == "__main__":
    role, port_arg, directory, *rest = sys.argv[1:]
    if role == "follower":
        serve_follower(int(port_arg), directory)
    else:
        serve_leader(int(port_arg), directory, [int(p) for p in rest])
