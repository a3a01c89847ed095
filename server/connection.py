"""One client connection: parse requests, run them in order, write replies in order.

Ordering rules (a client's replies always come back in the order of its requests, and a
pipeline behaves as if its commands ran one after another):

- consecutive writes are proposed together, so a pipeline of writes shares one log entry;
- consecutive reads share one linearizable read check and then run in order;
- a read that follows writes waits until those writes are applied (read your writes), and a
  write that follows reads waits until those reads have run, so nothing overtakes;
- connection commands (SELECT, HELLO, CLIENT ...) run once everything before them is done.

Each request gets a sequence number; replies are placed by it, so a reply that completes
early (an error, say) still goes out in its turn. Replies produced in one event-loop turn are
written with one ``transport.write``.

Back-pressure: when the client stops reading and the socket's write buffer passes the high
mark, the connection stops reading requests until the buffer drains; past the hard output
limit the client is disconnected, as Redis does, so a client that never reads cannot grow
the server's memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from consensus.messages import members
from resp.encoder import ENCODERS, encode
from resp.parser import ProtocolError, RequestParser
from resp.types import ErrorReply
from server.commands.registry import lookup
from server.session import Session

if TYPE_CHECKING:
    from server.node import Node

from server.node import Route
from server.transactions import queue_command

Route = members(Route)  # the enum's members read through a plain class (see members)

log = logging.getLogger("raftis.client")

# States of the command that is running (the pipeline is processed in runs of one kind).
IDLE, WRITES, READS, FORWARDED, ASYNC = range(5)

WRITE_HIGH = 4 * 1024 * 1024
OUTPUT_HARD_LIMIT = 64 * 1024 * 1024
QUERYBUF_LIMIT = 1024 * 1024 * 1024
# Requests parsed but not answered, per connection, above which we stop reading it, and the
# level at which it reads again: a client pipelining faster than its commands complete is
# slowed to their pace (in TCP) instead of filling the node's memory, and nothing it sent
# times out waiting behind its own backlog.
PIPELINE_HIGH = 8192
PIPELINE_LOW = 1024


class ClientConnection(asyncio.Protocol):
    __slots__ = (
        "node", "session", "parser", "transport", "queue", "running", "inflight", "next_seq",
        "next_out", "early", "wbuf", "closing", "paused_reading", "writing_paused", "upstream", "backlogged",
        "read_group", "read_asked", "_dirty", "track", "stats", "out_limit", "qbuf_limit", "held_reads",
        "shared_out", "shared_link", "after",
    )

    def __init__(self, node: Node) -> None:
        self.node = node
        self.session: Session | None = None
        self.parser = RequestParser()
        self.transport: asyncio.Transport | None = None
        self.queue: deque[tuple[Any, list[bytes], int]] = deque()  # (command, argv, seq) not started
        self.running = IDLE
        self.inflight = 0  # started commands whose reply has not been produced
        self.next_seq = 0
        self.next_out = 0
        self.early: dict[int, bytes] = {}  # replies that completed ahead of their turn
        self.wbuf: list[bytes] = []
        self.closing = False
        self.paused_reading = False
        self.backlogged = False  # reading paused because too many requests are in the pipe
        self.writing_paused = False
        self.upstream = None  # LeaderLink when this connection's commands go to the leader
        # Commands outstanding on the node's shared link to the leader, and which link that is.
        self.shared_out = 0
        self.shared_link = None
        self.read_group: list[tuple[Any, list[bytes], int]] = []
        # The node asked for read_group's check: a read arriving now waits for the next one
        # (a check confirms leadership after the reads that were there when it started).
        self.read_asked = False
        self._dirty = False
        # (argv, arrival time) of every request whose reply has not gone out: server.stats
        self.track: deque[tuple[list[bytes], int]] = deque()
        self.stats = node.ops_stats
        self.out_limit = OUTPUT_HARD_LIMIT  # the node's guard sets the configured limits
        self.qbuf_limit = QUERYBUF_LIMIT
        self.held_reads: list[tuple[Any, list[bytes], int]] = []  # checked reads waiting for the client to read
        # (seq, data): out-of-band data to write once the replies before seq are out (push_in_turn)
        self.after: list[tuple[int, bytes]] = []

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.set_write_buffer_limits(high=WRITE_HIGH)
        self.session = self.node.new_session(self)
        self.node.guard.admit(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.queue.clear()
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None
        if self.session is not None:
            self.node.end_session(self.session)

    def pause_writing(self) -> None:
        self.writing_paused = True
        if not self.paused_reading and self.transport is not None:
            self.transport.pause_reading()
            self.paused_reading = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.paused_reading and not self.backlogged and self.transport is not None and not self.closing:
            self.transport.resume_reading()
            self.paused_reading = False
        if self.held_reads and not self.closing:
            self._continue_reads()
        elif self.queue and not self.closing:
            self.pump()  # commands held back while the client was not reading
            self.flush()

    def _check_backlog(self) -> None:
        """Stop reading a client that has more requests in the pipe than we will answer soon
        (it waits in its socket buffer instead of in our memory, and nothing it sent times out
        waiting behind itself); read again once the pipe has drained."""
        pending = len(self.queue) + self.inflight
        if not self.backlogged:
            if pending > PIPELINE_HIGH and self.transport is not None:
                self.backlogged = True
                if not self.paused_reading:
                    self.transport.pause_reading()
                    self.paused_reading = True
        elif pending < PIPELINE_LOW:
            self.backlogged = False
            if self.paused_reading and not self.writing_paused and not self.closing:
                self.transport.resume_reading()  # type: ignore[union-attr]
                self.paused_reading = False

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.stats.net_in += len(data)
        t0 = time.perf_counter_ns()
        parser = self.parser
        err = None
        try:
            cmds = parser.parse(data)
        except ProtocolError as e:
            cmds = e.commands or []
            err = str(e)
        queue = self.queue
        track = self.track
        if cmds:
            seq = self.next_seq
            for argv in cmds:
                queue.append((None, argv, seq))
                track.append((argv, t0))
                seq += 1
            self.next_seq = seq
        if err is not None:
            # Redis answers what came before, then the protocol error, then closes.
            queue.append((None, [b"\x00protocol-error", err.encode()], self.next_seq))
            track.append(([], t0))
            self.next_seq += 1
        elif parser.buffered > self.qbuf_limit:
            log.warning("client %s closed: query buffer over the limit", self.session and self.session.addr)
            self.transport.abort()  # type: ignore[union-attr]
            return
        self.pump()
        if len(queue) + self.inflight > PIPELINE_HIGH:
            self._check_backlog()
        if self.wbuf:
            self.flush()

    # -- processing ------------------------------------------------------------------------
    def pump(self) -> None:
        """Start as many queued commands as the ordering rules allow."""
        node = self.node
        session = self.session
        queue = self.queue
        while queue and not self.closing:
            if self.writing_paused:
                return  # the client is not reading its replies: start nothing more for now
            cmd, argv, seq = queue[0]
            if cmd is None:
                if argv[0] == b"\x00protocol-error":
                    if self.inflight:
                        return
                    queue.clear()
                    self.resolve(seq, encode(ErrorReply("ERR " + argv[1].decode()), False))
                    self.closing = True
                    self.flush()
                    self.transport.close()  # type: ignore[union-attr]
                    return
                cmd = lookup(argv)
                if type(cmd) is ErrorReply:
                    if session.forward_multi:
                        # The transaction lives on the leader: let it see (and count) the error.
                        if self.running not in (IDLE, FORWARDED):
                            return
                        queue.popleft()
                        self.running = FORWARDED
                        self.inflight += 1
                        node.forward(self, argv, seq)
                        continue
                    queue.popleft()
                    if session.multi is not None:
                        session.multi.dirty = True
                    self._reply_now(seq, cmd)
                    continue
                if session.acl is not None or node.guard.over_memory:
                    denied = node.guard.check(session, cmd, argv)
                    if denied is not None:  # -NOAUTH, -NOPERM, -OOM
                        queue.popleft()
                        if session.multi is not None:
                            session.multi.dirty = True
                        elif session.forward_multi and self.upstream is not None:
                            # The transaction lives on the leader: make it fail EXEC there too
                            # (an unknown command marks it, its reply is not relayed).
                            self.upstream.send_internal([b"RAFTIS.DENIED"])
                        self._reply_now(seq, denied)
                        continue
                if session.tracking is not None:
                    node.tracking.command(session, cmd, argv)
                queue[0] = (cmd, argv, seq)
            if node.pause_until and node.holds(self, cmd):
                return
            route = node.route(session, cmd, argv)
            if route == Route.WRITE:
                if self.running not in (IDLE, WRITES):
                    return
                queue.popleft()
                self.running = WRITES
                self.inflight += 1
                node.propose(self, session.db_index, argv, seq, cmd)
                if "blocking" in cmd.flags:
                    # As in Redis, nothing after a blocking command runs until it is answered:
                    # a later write of the same pipeline must not feed (or starve) it.
                    self.running = ASYNC
            elif route == Route.READ:
                if self.running not in (IDLE, READS) or self.held_reads or self.read_asked:
                    return
                queue.popleft()
                if not self.read_group:
                    self.running = READS
                    node.read_barrier(self)
                self.read_group.append((cmd, argv, seq))
                self.inflight += 1
            elif route == Route.FORWARD:
                if self.running not in (IDLE, FORWARDED):
                    return
                if self.shared_out and not node.may_forward_now(self, cmd):
                    return  # resumed when what is outstanding is answered
                queue.popleft()
                self.running = FORWARDED
                self.inflight += 1
                node.forward(self, argv, seq, cmd)
                if cmd.name == b"multi":
                    # A relayed MULTI: what follows is relayed to be queued only once the
                    # leader has opened the transaction (Node.forward).
                    self.running = ASYNC
            elif route == Route.EXEC:
                if self.running not in (IDLE, WRITES):
                    return
                queue.popleft()
                err = node.propose_exec(self, seq)
                if err is not None:
                    self._reply_now(seq, err)
                    continue
                self.running = WRITES
                self.inflight += 1
                if "exec_db" in session.extra:
                    # Which db the next commands use depends on whether EXEC runs: wait for it.
                    self.running = ASYNC
            elif route == Route.QUEUE:
                if self.inflight:
                    return
                queue.popleft()
                self._reply_now(seq, queue_command(session, argv))
            elif route == Route.LOCAL_READ:
                if self.inflight:
                    return
                queue.popleft()
                self._reply_now(seq, node.execute_read(session, cmd, argv))
            elif route == Route.ERROR:
                if self.inflight:
                    return
                queue.popleft()
                self._reply_now(seq, node.route_error(session, cmd, argv))
            else:  # connection and server commands: run when everything before them is done
                if self.inflight:
                    return
                queue.popleft()
                try:
                    reply = cmd.handler(session, argv)
                except ErrorReply as e:
                    reply = e
                except Exception as e:  # a bug in one command must not take the node down
                    log.exception("command %r failed", argv[0])
                    reply = ErrorReply(f"ERR internal error: {type(e).__name__}")
                if asyncio.iscoroutine(reply):
                    self.running = ASYNC
                    self.inflight += 1
                    asyncio.get_running_loop().create_task(self._run_async(reply, seq))
                    return
                self._reply_now(seq, reply)
                if session.close_after_reply:
                    self.closing = True
                    queue.clear()
                    self.flush()
                    self.transport.close()  # type: ignore[union-attr]
                    return

    async def _run_async(self, coro: Any, seq: int) -> None:
        try:
            reply = await coro
        except ErrorReply as e:
            reply = e
        except Exception as e:
            log.exception("command failed")
            reply = ErrorReply(f"ERR internal error: {type(e).__name__}")
        if self.closing:
            return
        self._reply_now(seq, reply)
        if self.session.close_after_reply:  # type: ignore[union-attr]
            self.closing = True
            self.queue.clear()
            self.flush()
            self.transport.close()  # type: ignore[union-attr]
            return
        self.done_one()
        self.flush()

    def _reply_now(self, seq: int, reply: Any) -> None:
        self.resolve(seq, encode(reply, self.session.resp3))  # type: ignore[union-attr]

    def resolve(self, seq: int, data: bytes) -> None:
        """Place the encoded reply to request ``seq``; replies leave strictly in order."""
        if seq == self.next_out:
            self.wbuf.append(data)
            track = self.track
            if track:
                argv, t0 = track.popleft()
                self.stats.record(argv, t0, data, self.session)
            seq += 1
            early = self.early
            if early:
                record = self.stats.record
                while seq in early:
                    data = early.pop(seq)
                    self.wbuf.append(data)
                    if track:
                        argv, t0 = track.popleft()
                        record(argv, t0, data, self.session)
                    seq += 1
            self.next_out = seq
            if self.after:
                self._release_after()
            if not self._dirty:
                self._dirty = True
                self.node.mark_dirty(self)
        else:
            self.early[seq] = data

    def push_in_turn(self, data: bytes) -> None:
        """Out-of-band data that must follow the replies to every request received so far (a
        tracking invalidation must not overtake the reply that it makes stale)."""
        if self.next_out == self.next_seq:
            self.push(data)
        elif not self.closing:
            self.after.append((self.next_seq, data))

    def _release_after(self) -> None:
        after = self.after
        while after and after[0][0] <= self.next_out:
            self.wbuf.append(after.pop(0)[1])

    def push(self, data: bytes) -> None:
        """Out-of-band data (pub/sub messages): written at once, between replies."""
        if self.closing:
            return
        self.wbuf.append(data)
        if not self._dirty:
            self._dirty = True
            self.node.mark_dirty(self)

    def done_one(self) -> None:
        """A started command produced its reply; when the run is over, start the next one."""
        self._finished(1)

    def _finished(self, n: int) -> None:
        self.inflight -= n
        if self.inflight == 0:
            self.running = IDLE
            if self.queue and not self.closing:
                self.pump()
        if self.backlogged:
            self._check_backlog()

    def run_reads(self, now_ms: int | None = None) -> None:
        """The read check for the current group passed: run the reads, in order (judging
        expiry by ``now_ms``, taken once for every group the check released)."""
        group = self.read_group
        self.read_group = []
        self.read_asked = False
        self.held_reads = group
        self._continue_reads(now_ms)

    def _continue_reads(self, now_ms: int | None = None) -> None:
        """Run the checked reads in ``held_reads``, in order, until about WRITE_HIGH bytes of
        replies are out; the rest waits for the client to read those (a pipeline of GETs of
        a large value is never built in memory all at once). A read whose check passed may
        run later: the local state only moves forward from the confirmed index."""
        group = self.held_reads
        if not group or self.closing:
            return
        if self.writing_paused:
            return  # resume_writing continues
        node = self.node
        resp3 = self.session.resp3  # type: ignore[union-attr]
        produced = 0
        done = len(group)
        if now_ms is None or now_ms < node.last_batch_ms:  # never behind what was applied since
            now_ms = node.read_now_ms()
        enc = ENCODERS[resp3]
        for i, (cmd, argv, seq) in enumerate(group):
            data = enc(node.execute_read(self.session, cmd, argv, now_ms))
            self.resolve(seq, data)
            produced += len(data)
            if produced > WRITE_HIGH and i + 1 < len(group):
                done = i + 1
                break
        self.held_reads = group[done:]
        if self.held_reads:
            self.inflight -= done
            asyncio.get_running_loop().call_soon(self._continue_reads)  # after this output's flush
            return
        self._finished(done)

    def fail_reads(self, reply: Any) -> None:
        group = self.read_group
        self.read_group = []
        self.read_asked = False
        data = encode(reply, self.session.resp3)  # type: ignore[union-attr]
        for _, _, seq in group:
            self.resolve(seq, data)
        self._finished(len(group))

    def flush(self) -> None:
        self._dirty = False
        wbuf = self.wbuf
        transport = self.transport
        if not wbuf or transport is None:
            return
        data = b"".join(wbuf) if len(wbuf) > 1 else wbuf[0]
        wbuf.clear()
        if transport.is_closing():
            return
        transport.write(data)
        self.stats.net_out += len(data)
        # The transport calls pause_writing from write() once it holds more than WRITE_HIGH:
        # unless a limit is lower than that, a buffer over the limit has paused the client.
        if not self.writing_paused and self.out_limit >= WRITE_HIGH:
            return
        size = transport.get_write_buffer_size()
        if size > self.out_limit and self.node.guard.output_over(self, size):
            log.warning("client %s closed: output buffer over its hard limit with %d bytes (it does not "
                        "read its replies)", self.session and self.session.addr, size)
            self.closing = True
            self.transport.abort()
