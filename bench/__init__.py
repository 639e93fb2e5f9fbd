"""Parley's benchmarks. `make bench BENCH_ARGS="<name> [options]"`; results go to
docs/performance.md together with the command that produced them."""
