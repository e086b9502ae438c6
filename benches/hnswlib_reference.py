#!/usr/bin/env python3
"""hnswlib on the same TEXMEX files as `cargo bench --bench ann`, writing the
same JSON-lines schema (engine "hnswlib", mode "inproc"), so both land in one
table and one plot (`cargo bench --bench ann -- --plot-only --compare ...`).

    pip install hnswlib numpy
    python3 benches/hnswlib_reference.py --data DIR [--m 16] [--ef-construction 200] \
        [--ef 32,64,128,256] [--threads N] [--queries 1000] [--out hnswlib.jsonl] [--build-seed S]

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
    import hnswlib
except ImportError:
    sys.exit("hnswlib is not installed: pip install hnswlib")

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
    ap.add_argument("--m", default="16")
    ap.add_argument("--ef-construction", default="200")
    ap.add_argument("--ef", default="32,64,128,256")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--queries", type=int, default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--build-seed", type=int, default=None,
                    help="insert in an order shuffled with this seed (another build of the same data)")
    args = ap.parse_args()
    lst = lambda s: [int(x) for x in s.split(",") if x.strip()]

    base = read_vecs(os.path.join(args.data, "base.fvecs"), np.float32)
    n, dim = base.shape
    sets = []
    for name, q, gt in QUERY_FILES:
        if os.path.exists(os.path.join(args.data, q)):
            qs = read_vecs(os.path.join(args.data, q), np.float32)[: args.queries]
            g = read_vecs(os.path.join(args.data, gt), np.int32)[: args.queries]
            sets.append((name, qs, g))
    dataset = os.path.basename(os.path.normpath(args.data))
    out = open(args.out, "w") if args.out else None
    try:
        from importlib.metadata import version

        hv = version("hnswlib")
    except Exception:
        hv = "?"
    print(f"hnswlib {hv}: {dataset} {n} x {dim}", file=sys.stderr)

    first = True
    for m in lst(args.m):
        for efc in lst(args.ef_construction):
            hwm_reset = reset_peak_rss()
            rss0 = status_bytes("VmRSS")
            t = time.perf_counter()
            index = hnswlib.Index(space="ip", dim=dim)
            index.init_index(max_elements=n, ef_construction=efc, M=m)
            index.set_num_threads(args.threads)
            if args.build_seed is None:
                index.add_items(base, np.arange(n), num_threads=args.threads)
            else:
                order = np.random.default_rng(args.build_seed).permutation(n)
                index.add_items(base[order], order, num_threads=args.threads)
            build_s = time.perf_counter() - t
            rss1 = status_bytes("VmRSS")
            tmp = tempfile.mkdtemp(prefix="hnswlib-ref-")
            try:
                index.save_index(os.path.join(tmp, "index.bin"))
                disk = os.path.getsize(os.path.join(tmp, "index.bin"))
            finally:
                shutil.rmtree(tmp)
            print(f"built m={m} ef_construction={efc}: {build_s:.2f} s ({n / build_s:.0f} vectors/s)", file=sys.stderr)
            index.set_ef(lst(args.ef)[0])
            for i in range(min(200, len(sets[0][1]))):  # warm-up, untimed
                index.knn_query(sets[0][1][i : i + 1], k=K, num_threads=1)
            for name, qs, gt in sets:
                for ef in lst(args.ef):
                    index.set_ef(ef)
                    lat, hits = [], []
                    t0 = time.perf_counter()
                    for i in range(len(qs)):
                        t = time.perf_counter()
                        labels, _ = index.knn_query(qs[i : i + 1], k=K, num_threads=1)
                        lat.append(time.perf_counter() - t)
                        hits.append(labels[0])
                    qps_1t = len(qs) / (time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    index.knn_query(qs, k=K, num_threads=args.threads)
                    qps = len(qs) / (time.perf_counter() - t0)
                    hwm = status_bytes("VmHWM")
                    rec = {
                        "engine": "hnswlib",
                        "mode": "inproc",
                        "dataset": dataset,
                        "n": n,
                        "dim": dim,
                        "metric": "cosine",
                        "m": m,
                        "ef_construction": efc,
                        "build_s": build_s,
                        "build_vectors_per_s": n / build_s,
                        "build_threads": args.threads,
                        "query_set": name,
                        "queries": len(qs),
                        "k": K,
                        "ef": ef,
                        "recall_at_10": recall(hits, gt),
                        "qps_1t": qps_1t,
                        "p50_ms_1t": pct(lat, 0.5),
                        "p99_ms_1t": pct(lat, 0.99),
                        "threads": args.threads,
                        "qps": qps,
                        "p50_ms": None,
                        "p99_ms": None,
                        "peak_rss_mib": hwm / 2**20 if hwm and (hwm_reset or first) else None,
                        "index_ram_bytes_per_vector": (rss1 - rss0) / n if rss0 and rss1 else None,
                        "ram_method": "rss" if rss0 and rss1 else None,
                        "disk_bytes": disk,
                        "disk_bytes_per_vector": disk / n,
                        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "host": host(),
                    }
                    first = False
                    line = json.dumps(rec)
                    print(line)
                    print(
                        f"  {name} ef={ef:<4} recall@10 {rec['recall_at_10']:.4f}  1 thread {qps_1t:7.0f} QPS "
                        f"(p50 {rec['p50_ms_1t']:.3f} ms, p99 {rec['p99_ms_1t']:.3f} ms)  {args.threads} threads {qps:7.0f} QPS",
                        file=sys.stderr,
                    )
                    if out:
                        out.write(line + "\n")
                        out.flush()
            del index


if __name__ == "__main__":
    main()
