#!/usr/bin/env python3
"""Times `Count` with payload filters through the Python SDK (median of 30
calls each) against a running server that holds the collection
`benches/filtered.rs` writes (`bench`, payload `{"tag": "tNN", "n": I}`,
indexes on `tag` and `n`). See docs/benchmarks.md, "Count through payload
indexes".

usage: python3 benches/count_filtered.py [HOST:PORT]
"""
import statistics
import sys
import time

import clipdb

FILTERS = [
    ("tag any of 1 tag", {"must": [{"key": "tag", "any": {"values": ["t00"]}}]}),
    ("tag any of 10 tags",
     {"must": [{"key": "tag", "any": {"values": [f"t{i:02}" for i in range(10)]}}]}),
    ("n < 1000", {"must": [{"key": "n", "range": {"lt": 1000}}]}),
]


def main() -> None:
    client = clipdb.Client(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051")
    for name, spec in FILTERS:
        times = []
        for _ in range(30):
            started = time.perf_counter()
            count = client.count("bench", spec)
            times.append(time.perf_counter() - started)
        print(f"{name}: {count} points, median {statistics.median(times) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
