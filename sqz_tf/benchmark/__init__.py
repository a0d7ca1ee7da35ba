"""Benchmarks: host latency of exported models, benchmark_model on phones."""
