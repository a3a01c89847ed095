"""Fault injection on real Raftis processes, checked for linearizability.

- `cluster`: nodes behind per-node proxies (node N binds 127.0.1.N, its proxy 127.0.2.N);
  kill, pause and power loss by process group; membership helpers.
- `proxy`: the fault-injecting TCP proxy: partitions, one-way cuts, delay, loss,
  duplication and reordering of whole peer frames, connection resets.
- `nemesis`: the fault kinds and the schedule; `workloads`: register, list-append and
  counter clients that record every call; `campaign`: one run, phases and checks;
  `report`: the report directory and its HTML timeline; `run`: the command line.
- `checker/`: history records and the shared checkers (linearizability, list-append,
  counter), which give the verdicts; `list_checker` and `counter_checker` add what those
  do not check (real-time order of appends; INCRBY's replies).

Power loss is honest: with ``RAFTIS_TEST_SYNC_LEDGER`` set, the storage layer notes the
length of each file at every fsync; after a SIGKILL the harness cuts each file back to a
length between that and its current one, losing only what no fsync made durable.
"""
