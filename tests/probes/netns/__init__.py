"""Probe tests inside a small test internet of network namespaces (topology.py draws it).

Run as root: ``.venv/bin/pytest tests/probes/netns -q`` (marked ``netns``; ``-m "not netns"`` leaves them
out). Without root, iproute2, iptables or /dev/net/tun they skip and say why. Benchmarks on the same
topology: ``bench/probe_bench.py`` and ``bench/probe_memory.py``.
"""
