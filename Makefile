# `make test` is what CI runs (.ci/run calls it): it installs what the tests need, then runs them.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: test deps install-test lint sim-long bench

deps:
	@if command -v apt-get >/dev/null 2>&1 && { ! command -v redis-server >/dev/null 2>&1 || ! command -v valgrind >/dev/null 2>&1; }; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools iproute2 nftables valgrind; \
	fi
	@# Debian's package starts a system redis-server on 6379; the tests pick their own ports and want it gone.
	@-(service redis-server stop >/dev/null 2>&1 || true)
	$(PIP) install -q -e '.[test]'

test: deps
	$(PYTHON) -m pytest -q

lint:
	ruff check .

bench:
	$(PYTHON) -m benchmarks.run

# Many more simulator seeds than CI runs: make sim-long SEEDS=20000
SEEDS ?= 20000
sim-long:
	$(PYTHON) -m tests.sim.run --seeds $(SEEDS)
