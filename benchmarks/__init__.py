"""Benchmarks: ``python -m benchmarks.run`` (Raftis against redis-server) and
``python -m benchmarks.profile`` (a py-spy flame graph of one workload)."""
