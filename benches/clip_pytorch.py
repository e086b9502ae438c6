#!/usr/bin/env python3
"""PyTorch + transformers beside `cargo bench --bench embed`: the same CLIP
shapes (openai/clip-vit-base-patch32, random weights from the config, fp32,
SDPA attention), the same batch sizes (images 1 and 16, texts 1 and 32 of
15-16 tokens) and the same timing rule (median of at least 3 timed calls
after 2 warm-ups, at least --secs seconds of calls), on 1 and 2 threads.

    python3 -m venv .venv-torch && .venv-torch/bin/pip install torch transformers
    .venv-torch/bin/python benches/clip_pytorch.py [--threads 1,2] [--secs 2]

Besides wall-clock rates it prints CPU-seconds per item (process user+system
time), which stays comparable when another process shares the machine.
PyPI's Linux torch wheel is the CUDA build (~2.5 GB with its nvidia-*
wheels); it runs on the CPU all the same.
"""

import argparse
import json
import os
import statistics
import sys
import time

try:
    import torch
    from transformers import CLIPConfig, CLIPModel
except ImportError:
    sys.exit("torch/transformers missing: pip install torch transformers")


def timed(fn, secs):
    for _ in range(2):
        fn()
    walls, cpus = [], []
    start = time.perf_counter()
    while len(walls) < 3 or time.perf_counter() - start < secs:
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--secs", type=float, default=2.0)
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    args = ap.parse_args()

    torch.manual_seed(0)
    config = CLIPConfig()  # defaults are ViT-B/32's shapes
    model = CLIPModel._from_config(config, attn_implementation="sdpa").eval()
    pixels = torch.rand(16, 3, 224, 224) * 4 - 2
    # 16 tokens: BOS, 14 words, EOS (the Rust bench's captions are 15-16 tokens)
    ids = torch.randint(1000, 40000, (32, 16))
    ids[:, 0] = 49406
    ids[:, -1] = 49407
    print(
        f"torch {torch.__version__}, transformers {__import__('transformers').__version__}, "
        f"cpu {os.cpu_count()} logical",
        file=sys.stderr,
    )
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        rows = []
        with torch.inference_mode():
            for b in (1, 16):
                w, c = timed(lambda: model.get_image_features(pixel_values=pixels[:b]), args.secs)
                rows.append(("images", b, w, c))
            for b in (1, 32):
                w, c = timed(lambda: model.get_text_features(input_ids=ids[:b]), args.secs)
                rows.append(("texts", b, w, c))
        for what, b, w, c in rows:
            if args.json:
                print(json.dumps({"engine": "pytorch", "threads": threads, "what": what,
                                  "batch": b, "per_s": b / w, "per_cpu_s": b / c}))
            else:
                print(f"threads={threads} {what:6} batch {b:>2}: {b / w:7.2f} {what}/s "
                      f"({w * 1e3:.1f} ms/call, {b / c:.2f} {what}/cpu-s)")


if __name__ == "__main__":
    main()
