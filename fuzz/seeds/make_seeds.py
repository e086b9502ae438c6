#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz targets into corpus/<target>/.

Run from fuzz/: `python3 seeds/make_seeds.py [fixtures dir]`. The protobuf
messages are encoded by hand (no protobuf package needed); the images are a
few tiny generated PNG/BMP files plus some of shared/fixtures/clip/images.
open_files writes its own seeds (the files of a real segment): see its docs.
"""
import os
import shutil
import struct
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def out(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# --- protobuf wire format -------------------------------------------------
def varint(n):
    n &= (1 << 64) - 1
    b = bytearray()
    while True:
        x = n & 0x7F
        n >>= 7
        if n:
            b.append(x | 0x80)
        else:
            b.append(x)
            return bytes(b)


def key(field, wt):
    return varint(field << 3 | wt)


def vint(field, n):
    return key(field, 0) + varint(n)


def ld(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def dbl(field, x):
    return key(field, 1) + struct.pack("<d", x)


def flt(field, x):
    return key(field, 5) + struct.pack("<f", x)


def floats(field, xs):
    return ld(field, b"".join(struct.pack("<f", x) for x in xs))


# google.protobuf.Value / Struct / ListValue
def v_null():
    return vint(1, 0)


def v_num(x):
    return dbl(2, x)


def v_str(s):
    return ld(3, s)


def v_bool(b):
    return vint(4, int(b))


def v_struct(fields):
    return ld(5, struct_msg(fields))


def v_list(values):
    return ld(6, b"".join(ld(1, v) for v in values))


def struct_msg(fields):
    return b"".join(ld(1, ld(1, k) + ld(2, v)) for k, v in fields.items())


def cond_eq(k, value):
    return ld(1, k) + ld(2, value)


def cond_range(k, gt=None, gte=None, lt=None, lte=None):
    r = b""
    for i, x in enumerate([gt, gte, lt, lte], 1):
        if x is not None:
            r += dbl(i, x)
    return ld(1, k) + ld(3, r)


def filter_msg(must=(), should=(), must_not=()):
    return (
        b"".join(ld(1, c) for c in must)
        + b"".join(ld(2, c) for c in should)
        + b"".join(ld(3, c) for c in must_not)
    )


PAYLOAD = {
    "color": v_str("red"),
    "n": v_num(3),
    "tags": v_list([v_str("a"), v_str("b"), v_num(1)]),
    "meta": v_struct({"year": v_num(2017), "ok": v_bool(True), "none": v_null()}),
}


def filter_eval():
    filters = {
        "eq": filter_msg(must=[cond_eq("color", v_str("red"))]),
        "nested": filter_msg(
            must=[cond_range("meta.year", gte=2000, lt=2020)],
            should=[cond_eq("tags", v_str("b")), cond_eq("n", v_num(3.0))],
            must_not=[cond_eq("meta.ok", v_bool(False))],
        ),
        "list": filter_msg(must=[cond_eq("tags", v_list([v_str("a"), v_str("b"), v_num(1)]))]),
        "struct": filter_msg(should=[cond_eq("meta", v_struct({"year": v_num(2017)}))]),
    }
    payload = struct_msg(PAYLOAD)
    json = b'{"color":"red","n":3,"tags":["a","b",1],"meta":{"year":2017,"ok":true,"none":null}}'
    for name, f in filters.items():
        hdr = struct.pack("<H", len(f))
        out("filter_eval", name + "-proto", b"\x00" + hdr + f + payload)
        out("filter_eval", name + "-json", b"\x01" + hdr + f + json)


def point(pid, vec, payload=None):
    m = ld(1, pid) + floats(2, vec)
    if payload:
        m += ld(5, struct_msg(payload))
    return m


def grpc_requests():
    vec = [0.1, 0.2, 0.3, 0.4]
    f = filter_msg(must=[cond_range("n", gte=1)], should=[cond_eq("tag", v_str("odd"))])
    reqs = {
        "create": (0, ld(1, "x") + vint(2, 4) + vint(3, 1) + ld(4, vint(1, 8) + vint(2, 16)) + vint(7, 8)),
        "create-clip": (0, ld(1, "y") + vint(2, 4) + vint(5, 1) + ld(6, flt(1, 0.5) + flt(2, 0.5))),
        "get-collection": (1, ld(1, "c")),
        "list": (2, b""),
        "delete-collection": (3, ld(1, "c")),
        "snapshot": (4, ld(1, "c")),
        "list-snapshots": (5, ld(1, "c")),
        "delete-snapshot": (6, ld(1, "c") + ld(2, "c-20261127T000000Z.tar")),
        "upsert": (7, ld(1, "c") + ld(2, point("q1", vec, {"n": v_num(5), "tag": v_str("odd")})) + ld(2, point("p3", [1, 0, 0, 0]))),
        "get": (8, ld(1, "c") + ld(2, "p1") + ld(2, "p2") + vint(3, 1)),
        "delete": (9, ld(1, "c") + ld(2, "p4")),
        "search-vector": (10, ld(1, "c") + ld(2, floats(1, vec)) + vint(6, 5) + vint(7, 32) + ld(8, f) + vint(9, 1) + vint(10, 1)),
        "search-id": (10, ld(1, "c") + ld(5, "p1") + vint(6, 3)),
        "search-text": (10, ld(1, "c") + ld(3, "a red car")),
        "count": (11, ld(1, "c")),
        "embed-text": (12, ld(1, "a photo of a cat")),
        "embed-image": (13, ld(1, png(2, 2, 2, 8, bytes(range(12))))),
    }
    for name, (method, body) in reqs.items():
        out("grpc_requests", name, bytes([method]) + body)


# --- images ---------------------------------------------------------------
def png(w, h, color_type, depth, raw):
    """raw: unfiltered scanlines without filter bytes."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    stride = w * channels * depth // 8
    lines = b"".join(b"\x00" + raw[y * stride:(y + 1) * stride] for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(lines)) + chunk(b"IEND", b"")


def bmp(w, h, pixels):
    row = (w * 3 + 3) & ~3
    data = b"".join(pixels[y * w * 3:(y + 1) * w * 3].ljust(row, b"\0") for y in range(h))
    hdr = b"BM" + struct.pack("<IHHI", 54 + len(data), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    return hdr + info + data


def image_preprocess(fixtures):
    out("image_preprocess", "rgb-3x2.png", png(3, 2, 2, 8, bytes(range(18))))
    out("image_preprocess", "rgba-2x2.png", png(2, 2, 6, 8, bytes([255, 0, 0, 128] * 4)))
    out("image_preprocess", "gray16-2x3.png", png(2, 3, 0, 16, bytes(range(12))))
    out("image_preprocess", "graya-4x1.png", png(4, 1, 4, 8, bytes([10, 0, 20, 255, 30, 128, 40, 7])))
    out("image_preprocess", "tall-1x40.png", png(1, 40, 2, 8, bytes(120)))
    out("image_preprocess", "rgb-2x2.bmp", bmp(2, 2, bytes(range(12))))
    for name in ["tiny_31x17.png", "palette_transparent_200x150.gif", "gray_401x300.jpg", "lossy_400x300.webp"]:
        with open(os.path.join(fixtures, name), "rb") as f:
            out("image_preprocess", name, f.read())


if __name__ == "__main__":
    fixtures = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures/clip/images"
    filter_eval()
    grpc_requests()
    image_preprocess(fixtures)
