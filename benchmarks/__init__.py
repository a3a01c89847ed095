"""Benchmarks: ``python -m benchmarks.run`` (Raftis against redis-server),
``python -m benchmarks.profile`` (a py-spy flame graph of one workload) and
``python -m benchmarks.inproc`` (the command path's CPU alone, for comparing code)."""
