"""Deterministic simulation of Raft clusters driven by one seeded PRNG (see simulator.py)."""
