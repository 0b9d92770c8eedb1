"""
Benchmarks of the media server.

``python -m bench.forwarding`` measures the server CPU a forwarded video
stream costs, next to a decode/re-encode baseline, each server in its own
process so the load generator's CPU is not counted. See docs/benchmarks.md.
"""
