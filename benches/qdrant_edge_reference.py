#!/usr/bin/env python3
"""Qdrant Edge (Qdrant's Rust segment engine in-process, `pip install
qdrant-edge-py`) on the same TEXMEX files as `cargo bench --bench ann`,
writing the same JSON-lines schema (engine "qdrant-edge", mode "inproc").

    pip install qdrant-edge-py numpy
    python3 benches/qdrant_edge_reference.py --data DIR [--m 16] [--ef-construction 200] \
        [--ef 32,64,128,256] [--queries 1000] [--out qdrant-edge.jsonl]

One shard, one segment (the optimizer merges and indexes everything:
`optimize()`), cosine, searched with `hnsw_ef` = ef through `EdgeShard.search`
(scores are Qdrant's own; recall against the files' ground truth). Build
time is upserts plus `optimize()`. Single-thread latency is timed per
search call from Python; the "all threads" run is a thread pool over the
queries.

DIR holds what ../shared/tools/gen_ann_data.py writes: base.fvecs,
queries_img.fvecs + gt_img.ivecs, queries_txt.fvecs + gt_txt.ivecs.
The space is "ip" (distance 1 - dot), the same order as clipdb's cosine on
these unit vectors. Single-thread latency is timed per knn_query call from
Python (a few microseconds of call overhead included); the all-threads run is
one batched knn_query, so it has no per-query latency (null).
"""
import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

try:
    import qdrant_edge as qe
except ImportError:
    sys.exit("qdrant-edge-py is not installed: pip install qdrant-edge-py")

K = 10
QUERY_FILES = [
    ("image->image", "queries_img.fvecs", "gt_img.ivecs"),
    ("text->image", "queries_txt.fvecs", "gt_txt.ivecs"),
]


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    dim = int(raw[0])
    rows = raw.reshape(-1, dim + 1)
    if not (rows[:, 0] == dim).all():
        sys.exit(f"{path}: records of mixed dimension")
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def status_bytes(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def host():
    model = os.uname().machine
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} threads"


def pct(lat_s, p):
    if not lat_s:
        return None
    s = sorted(lat_s)
    rank = min(max(int(np.ceil(len(s) * p)), 1), len(s))
    return s[rank - 1] * 1e3


def recall(hits, gt):
    found = sum(len(set(h[:K].tolist()) & set(g[:K].tolist())) for h, g in zip(hits, gt))
    return found / (len(hits) * K)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef", default="32,64,128,256")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--queries", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    efs = [int(x) for x in args.ef.split(",") if x.strip()]

    base = read_vecs(os.path.join(args.data, "base.fvecs"), np.float32)
    n, dim = base.shape
    sets = []
    for name, q, gt in QUERY_FILES:
        if os.path.exists(os.path.join(args.data, q)):
            qs = read_vecs(os.path.join(args.data, q), np.float32)[: args.queries]
            g = read_vecs(os.path.join(args.data, gt), np.int32)[: args.queries]
            sets.append((name, qs, g))
    dataset = os.path.basename(os.path.normpath(args.data))
    try:
        from importlib.metadata import version

        qv = version("qdrant-edge-py")
    except Exception:
        qv = "?"
    print(f"qdrant-edge-py {qv}: {dataset} {n} x {dim}", file=sys.stderr)
    out = open(args.out, "w") if args.out else None
    tmp = tempfile.mkdtemp(prefix="qdrant-edge-ref-")
    try:
        config = qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine),
            hnsw_config=qe.HnswIndexConfig(
                m=args.m, ef_construct=args.ef_construction, full_scan_threshold=10,
                max_indexing_threads=args.threads),
            optimizers=qe.EdgeOptimizersConfig(
                default_segment_number=1, max_segment_size=1 << 30, indexing_threshold=1),
        )
        shard = qe.EdgeShard.create(tmp, config)
        t = time.perf_counter()
        for s in range(0, n, 1000):
            shard.update(qe.UpdateOperation.upsert_points(
                [qe.Point(i, base[i].tolist()) for i in range(s, min(n, s + 1000))]))
        shard.optimize()
        build_s = time.perf_counter() - t
        info = shard.info()
        print(f"built: {build_s:.2f} s ({n / build_s:.0f} vectors/s), {info}", file=sys.stderr)

        def search(qv, ef):
            hits = shard.search(qe.SearchRequest(
                query=qe.Query.Nearest(qv.tolist()), limit=K, params=qe.SearchParams(hnsw_ef=ef)))
            return [int(h.id) for h in hits]

        for name, qs, g in sets:
            for ef in efs:
                lat, hits = [], []
                t0 = time.perf_counter()
                for qv in qs:
                    t = time.perf_counter()
                    hits.append(np.array(search(qv, ef)))
                    lat.append(time.perf_counter() - t)
                qps_1t = len(qs) / (time.perf_counter() - t0)
                from concurrent.futures import ThreadPoolExecutor
                t0 = time.perf_counter()
                with ThreadPoolExecutor(args.threads) as pool:
                    list(pool.map(lambda qv: search(qv, ef), qs))
                qps = len(qs) / (time.perf_counter() - t0)
                rec = recall(hits, g)
                r = {
                    "engine": "qdrant-edge", "mode": "inproc", "dataset": dataset, "n": n,
                    "dim": dim, "metric": "cosine", "m": args.m,
                    "ef_construction": args.ef_construction, "build_s": build_s,
                    "build_vectors_per_s": n / build_s, "build_threads": args.threads,
                    "query_set": name, "queries": len(qs), "k": K, "ef": ef,
                    "recall_at_10": rec, "qps_1t": qps_1t, "p50_ms_1t": pct(lat, 0.5),
                    "p99_ms_1t": pct(lat, 0.99), "threads": args.threads, "qps": qps,
                    "p50_ms": None, "p99_ms": None, "peak_rss_mib": None,
                    "index_ram_bytes_per_vector": None, "ram_method": None,
                    "disk_bytes": None, "disk_bytes_per_vector": None,
                    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "host": host(),
                }
                print(f"  {name} ef={ef:<4} recall@10 {rec:.4f}  1 thread {qps_1t:7.0f} QPS "
                      f"(p50 {r['p50_ms_1t']:.3f} ms)  {args.threads} threads {qps:7.0f} QPS",
                      file=sys.stderr)
                line = json.dumps(r)
                print(line)
                if out:
                    out.write(line + "\n")
        shard.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if out:
            out.close()


if __name__ == "__main__":
    main()
