/** Raw-vector collections against the real server (started with --model none). */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  AlreadyExists,
  ClipdbClient,
  ClipdbError,
  Code,
  FailedPrecondition,
  Filter,
  field,
  hasId,
  InvalidArgument,
  NotFound,
  type PointInput,
  type QuantizationInput,
} from "@clipdb/client";
import { type Server, startServer, uniqueName } from "./helpers.js";

const POINTS: PointInput[] = [
  { id: "a", vector: [1, 0, 0, 0], payload: { colour: "red", year: 2019 } },
  { id: "b", vector: [0, 1, 0, 0], payload: { colour: "blue", year: 2021 } },
  { id: "c", vector: new Float32Array([1, 1, 0, 0]), payload: { colour: "red", year: 2023, meta: { tags: ["x", "y"] } } },
];

let server: Server;
let db: ClipdbClient;

before(async () => {
  server = await startServer("vectors", ["--model", "none"]);
  db = new ClipdbClient({ address: server.address, timeout: 30_000 });
});

after(async () => {
  db.close();
  await server.stop();
});

async function demo(): Promise<string> {
  const name = uniqueName();
  const info = await db.createCollection(name, { dimension: 4 });
  assert.deepEqual([info.name, info.dimension, info.metric, info.vectorizer], [name, 4, "cosine", "none"]);
  assert.equal(await db.upsert(name, POINTS), 3);
  return name;
}

describe("collections", () => {
  test("create, get, list, exists, delete", async () => {
    const name = await demo();
    const info = await db.getCollection(name);
    assert.equal(info.pointCount, 3);
    assert.equal(info.hnsw.m > 0, true);
    assert.ok((await db.listCollections()).some((c) => c.name === name));
    assert.equal(await db.collectionExists(name), true);
    await assert.rejects(db.createCollection(name, { dimension: 4 }), AlreadyExists);
    await db.deleteCollection(name);
    await assert.rejects(db.getCollection(name), (e: unknown) => {
      assert.ok(e instanceof NotFound);
      assert.equal(e.code, Code.NotFound);
      assert.equal(e.codeName, "NOT_FOUND");
      assert.match(e.message, new RegExp(name));
      return true;
    });
    assert.equal(await db.collectionExists(name), false);
  });

  test("options reach the server", async () => {
    const name = uniqueName();
    const info = await db.createCollection(name, {
      dimension: 3,
      metric: "l2",
      hnsw: { m: 8, efSearch: 32 },
      segmentCapacity: 1000,
      quantization: "int8",
    });
    assert.deepEqual(
      [info.metric, info.hnsw.m, info.hnsw.efSearch, info.segmentCapacity, info.quantization],
      ["l2", 8, 32, 1000, "int8"],
    );
  });

  test("quantization: f32 and int8 as asked, else the server's default (int8 here)", async () => {
    const cases: [QuantizationInput | undefined, string][] = [["f32", "f32"], ["int8", "int8"], [undefined, "int8"], ["default", "int8"], ["none", "int8"]];
    for (const [asked, want] of cases) {
      const name = uniqueName();
      const info = await db.createCollection(name, { dimension: 4, ...(asked && { quantization: asked }) });
      assert.equal(info.quantization, want, `asked ${asked}`);
      assert.equal((await db.getCollection(name)).quantization, want, `asked ${asked}`);
    }
    await assert.rejects(
      db.createCollection(uniqueName(), { dimension: 4, quantization: "f16" as QuantizationInput }),
      (e: unknown) => e instanceof InvalidArgument && /expected one of default, int8, f32/.test(e.message),
    );
  });
});

describe("search", () => {
  test("by vector, with filters as builders and as plain objects", async () => {
    const name = await demo();
    let hits = await db.search({ collection: name, vector: [1, 0.2, 0, 0], limit: 2 });
    assert.deepEqual(hits.map((h) => h.id), ["a", "c"]);
    assert.deepEqual(hits[0]!.payload, { colour: "red", year: 2019 });
    assert.ok(hits[0]!.score > hits[1]!.score);
    assert.equal(hits[0]!.vector, undefined);

    const built = Filter.must(field("colour").eq("red"), field("year").range({ gte: 2020 }));
    assert.deepEqual((await db.search({ collection: name, vector: [1, 0.2, 0, 0], filter: built })).map((h) => h.id), ["c"]);
    const plain = { must: [{ key: "colour", equals: "red" }, { key: "year", range: { gte: 2020 } }] };
    assert.deepEqual((await db.search({ collection: name, vector: [1, 0.2, 0, 0], filter: plain })).map((h) => h.id), ["c"]);
    const snake = { must_not: [{ key: "colour", equals: "red" }] };
    assert.deepEqual((await db.search({ collection: name, vector: [1, 0, 0, 0], filter: snake as never })).map((h) => h.id), ["b"]);

    const ids = async (filter: Parameters<typeof db.count>[1]) =>
      (await db.search({ collection: name, vector: [1, 0, 0, 0], filter })).map((h) => h.id);
    assert.deepEqual(await ids(field("colour").ne("red")), ["b"]);
    assert.deepEqual(await ids(new Filter({ should: [hasId(["b"]), field("year").gt(2022)] })), ["c", "b"]);
    assert.deepEqual(await ids(field("meta.tags").any(["y", "z"])), ["c"]);
    assert.deepEqual(await ids(Filter.must(field("colour").eq("red")).mustNot(field("year").lt(2020))), ["c"]);
    assert.deepEqual(await ids(field("colour").eq("red").and(field("year").lte(2019))), ["a"]);
    assert.deepEqual(await ids(field("meta").isEmpty()), ["a", "b"]);

    hits = await db.search({ collection: name, vector: new Float32Array([0, 1, 0, 0]), limit: 1, withVector: true, withPayload: false });
    assert.equal(hits[0]!.id, "b");
    assert.deepEqual(hits[0]!.payload, {});
    assert.deepEqual(hits[0]!.vector, [0, 1, 0, 0]);
  });

  test("by id, offset, threshold, batch, recommend", async () => {
    const name = await demo();
    assert.equal((await db.search({ collection: name, id: "a", limit: 5 }))[0]!.id, "c");
    assert.deepEqual((await db.search({ collection: name, vector: [1, 0, 0, 0], offset: 1, limit: 1 })).map((h) => h.id), ["c"]);
    assert.deepEqual((await db.search({ collection: name, vector: [1, 0, 0, 0], scoreThreshold: 0.9 })).map((h) => h.id), ["a"]);
    const fields = await db.search({ collection: name, vector: [1, 1, 0, 0], limit: 1, payloadFields: ["year"] });
    assert.deepEqual(fields[0]!.payload, { year: 2023 });
    const batch = await db.searchBatch(
      [{ vector: [1, 0, 0, 0], limit: 1 }, { vector: [0, 1, 0, 0], limit: 1, filter: field("colour").eq("blue") }],
      { collection: name },
    );
    assert.deepEqual(batch.map((r) => r.map((h) => h.id)), [["a"], ["b"]]);
    const rec = await db.recommend({ collection: name, positive: ["a"], negative: [[0, 1, 0, 0]], limit: 1 });
    assert.deepEqual(rec.map((h) => h.id), ["c"]);
  });
});

describe("points", () => {
  test("get, count, scroll, delete", async () => {
    const name = await demo();
    const got = await db.get(name, ["c", "missing", "a"], { withVector: true });
    assert.deepEqual(got.map((p) => p.id), ["c", "a"]);
    assert.deepEqual(got[1]!.vector, [1, 0, 0, 0]);
    assert.deepEqual(got[0]!.payload.meta, { tags: ["x", "y"] });
    assert.equal(await db.count(name), 3);
    assert.equal(await db.count(name, field("colour").eq("red")), 2);

    function* more(): Generator<PointInput> {
      for (let i = 0; i < 250; i++) yield { id: `p${String(i).padStart(3, "0")}`, vector: [i, 1, 1, 1], payload: { i } };
    }
    assert.equal(await db.upsert(name, more(), { batchSize: 100 }), 250);
    assert.equal(await db.count(name), 253);
    const scrolled: string[] = [];
    for await (const p of db.scroll(name, { pageSize: 40 })) scrolled.push(p.id);
    assert.equal(scrolled.length, 253);
    assert.deepEqual(scrolled, [...scrolled].sort());
    const few: string[] = [];
    for await (const p of db.scroll(name, { filter: field("i").lt(3), withPayload: false })) {
      assert.deepEqual(p.payload, {});
      few.push(p.id);
    }
    assert.deepEqual(few, ["p000", "p001", "p002"]);

    assert.equal(await db.delete(name, ["a", "nope"]), 1);
    assert.equal(await db.delete(name, { filter: field("i").gte(100) }), 150);
    assert.equal(await db.delete(name, { ids: [1, "p000"] }), 1);
    assert.equal(await db.count(name), 101);
  });

  test("payload updates and payload indexes", async () => {
    const name = await demo();
    assert.equal(await db.setPayload(name, { seen: true }, ["a", "b"]), 2);
    assert.deepEqual((await db.get(name, ["a"]))[0]!.payload, { colour: "red", year: 2019, seen: true });
    assert.equal(await db.setPayload(name, { only: 1 }, { filter: field("colour").eq("blue") }, { replace: true }), 1);
    assert.deepEqual((await db.get(name, ["b"]))[0]!.payload, { only: 1 });
    assert.equal(await db.deletePayloadKeys(name, ["year"], { filter: field("colour").eq("red") }), 2);
    assert.equal("year" in (await db.get(name, ["c"]))[0]!.payload, false);
    const index = await db.createPayloadIndex(name, "colour", "keyword");
    assert.deepEqual([index.key, index.type], ["colour", "keyword"]);
    assert.deepEqual((await db.getCollection(name)).payloadIndexes.map((i) => i.key), ["colour"]);
    await db.deletePayloadIndex(name, "colour");
    assert.deepEqual((await db.getCollection(name)).payloadIndexes, []);
  });

  test("snapshots", async () => {
    const name = await demo();
    const snap = await db.createSnapshot(name);
    assert.equal(snap.collection, name);
    assert.equal(snap.pointCount, 3);
    assert.ok(snap.createdAt instanceof Date && snap.createdAt.getTime() > 0);
    assert.ok((await db.listSnapshots(name)).some((s) => s.name === snap.name));
    await db.deleteSnapshot(name, snap.name);
    assert.deepEqual(await db.listSnapshots(name), []);
  });
});

describe("streaming upsert", () => {
  test("an async iterable, in batches, with progress", async () => {
    const name = await demo();
    async function* points(): AsyncGenerator<PointInput> {
      for (let i = 0; i < 1000; i++) {
        if (i % 100 === 0) await new Promise((r) => setImmediate(r)); // a slow producer
        yield { id: `s${i}`, vector: [1, i, 0, 0], payload: { i } };
      }
    }
    const progress: number[] = [];
    assert.equal(await db.upsertStream(name, points(), { batchSize: 300, onProgress: (n) => progress.push(n) }), 1000);
    assert.deepEqual(progress, [300, 600, 900, 1000]);
    assert.equal(await db.count(name), 1003);
    assert.equal(await db.count(name, field("i").gte(900)), 100);
  });

  test("a failing batch stops the stream; earlier batches stay stored", async () => {
    const name = await demo();
    const points: PointInput[] = [];
    for (let i = 0; i < 10; i++) points.push({ id: `f${i}`, vector: i === 7 ? [1, 2] : [1, 0, 0, i] });
    await assert.rejects(db.upsertStream(name, points, { batchSize: 5 }), (e: unknown) => {
      assert.ok(e instanceof InvalidArgument);
      assert.equal(e.message, `point \`f7\`: vector has dimension 2, collection \`${name}\` expects 4 (5 points stored before this batch)`);
      return true;
    });
    assert.equal(await db.count(name), 3 + 5);
  });

  test("an input that throws rejects with its own error", async () => {
    const name = await demo();
    async function* broken(): AsyncGenerator<PointInput> {
      yield { id: "ok", vector: [1, 0, 0, 0] };
      throw new RangeError("the source failed");
    }
    await assert.rejects(db.upsertStream(name, broken()), RangeError);
    await assert.rejects(db.upsertStream(name, [{ id: "x", vector: [1, 0, 0, 0], colour: "red" } as PointInput]), /unknown keys colour/);
  });
});

describe("errors", () => {
  test("carry the server's status and message", async () => {
    const name = await demo();
    await assert.rejects(db.upsert(name, [{ id: "x", vector: [1, 2] }]), (e: unknown) => {
      assert.ok(e instanceof InvalidArgument && e instanceof ClipdbError && e instanceof Error);
      assert.equal(e.name, "InvalidArgument");
      assert.equal(e.code, Code.InvalidArgument);
      assert.equal(e.message, `point \`x\`: vector has dimension 2, collection \`${name}\` expects 4`);
      return true;
    });
    assert.equal(await db.count(name), 3); // all or nothing
    await assert.rejects(db.search({ collection: name, vector: [1, 0, 0, 0], limit: 20000 }), (e: unknown) =>
      e instanceof InvalidArgument && /limit/.test(e.message),
    );
    await assert.rejects(db.search({ collection: "no_such_collection", vector: [1, 0, 0, 0] }), NotFound);
    await assert.rejects(db.search({ collection: name, text: "a red circle" }), FailedPrecondition);
    await assert.rejects(db.createCollection("bad name!", { dimension: 2 }), InvalidArgument);
  });

  test("bad arguments are refused before any call", async () => {
    const name = await demo();
    await assert.rejects(db.search({ collection: name, vector: [1, 0, 0, 0], text: "both" }), /exactly one of vector, text, image, id \(got vector, text\)/);
    await assert.rejects(db.search({ collection: name }), InvalidArgument);
    await assert.rejects(db.count(name, { must: [{ key: "a", nope: 1 }] } as never), (e: unknown) =>
      e instanceof InvalidArgument && /bad filter/.test(e.message),
    );
    await assert.rejects(db.createCollection(uniqueName(), { dimension: 2, metric: "manhattan" as never }), /unknown metric "manhattan"/);
    await assert.rejects(db.delete(name, 42 as never), InvalidArgument);
  });
});
