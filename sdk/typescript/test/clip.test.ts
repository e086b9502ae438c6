/** Text and images with the bundled demo CLIP model (the server embeds them). */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { ClipdbClient, field, InvalidArgument, type PointInput } from "@clipdb/client";
import { demoData, loadDemo, type Server, startServer, uniqueName } from "./helpers.js";

let server: Server;
let db: ClipdbClient;

before(async () => {
  server = await startServer("clip"); // the default model: the bundled demo CLIP model
  db = new ClipdbClient({ address: server.address, timeout: 60_000 });
});

after(async () => {
  db.close();
  await server.stop();
});

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

test("images and captions: upsert, search by text, image and vector, fusion, filters", async () => {
  const items = loadDemo(demoData(20));
  const name = uniqueName();
  const info = await db.createCollection(name); // CLIP, of the model's dimension
  assert.equal(info.vectorizer, "clip");
  assert.ok(info.dimension > 0);

  // images as a file path, a Buffer and a plain Uint8Array
  const points: PointInput[] = items.map((it, i) => ({
    id: it.id,
    image: i % 3 === 0 ? it.path : i % 3 === 1 ? readFileSync(it.path) : new Uint8Array(readFileSync(it.path)),
    text: it.captions.at(-1)!,
    payload: { colour: it.colour, file: basename(it.path) },
  }));
  const progress: number[] = [];
  assert.equal(await db.upsertStream(name, points, { batchSize: 6, onProgress: (n) => progress.push(n) }), 20);
  assert.deepEqual(progress, [6, 12, 18, 20]);
  assert.equal(await db.count(name), 20);
  assert.notEqual((await db.getCollection(name)).model, "");

  const first = items[0]!;
  const caption = first.captions.at(-1)!;
  // captions only: the point whose caption this is scores ~1
  let hits = await db.search({ collection: name, text: caption, fusion: [0, 1], limit: 3 });
  assert.equal(hits[0]!.id, String(first.id));
  assert.ok(hits[0]!.score > 0.99, `score ${hits[0]!.score}`);
  // images only, querying with the image itself
  hits = await db.search({ collection: name, image: readFileSync(first.path), fusion: { image: 1, text: 0 }, limit: 1 });
  assert.equal(hits[0]!.id, String(first.id));
  assert.ok(hits[0]!.score > 0.99, `score ${hits[0]!.score}`);
  // fused, with a filter
  hits = await db.search({ collection: name, text: `a ${first.colour} shape`, filter: field("colour").eq(first.colour) });
  assert.ok(hits.length > 0);
  assert.ok(hits.every((h) => h.payload.colour === first.colour));

  const v = await db.embedText("a red circle");
  const two = await db.embedText(["a red circle", "a blue square"]);
  assert.equal(v.length, info.dimension);
  assert.deepEqual(two.map((e) => e.length), [info.dimension, info.dimension]);
  assert.ok(Math.abs(norm(v) - 1) < 1e-3);
  assert.deepEqual(two[0], v);
  const image = await db.embedImage(first.path);
  assert.equal(image.length, info.dimension);
  assert.deepEqual(await db.embedImage([readFileSync(first.path)]), [image]);
  hits = await db.search({ collection: name, vector: Float32Array.from(image), fusion: [1, 0], limit: 1 });
  assert.equal(hits[0]!.id, String(first.id));
});

test("texts only, with upsert (unary batches)", async () => {
  const name = uniqueName();
  await db.createCollection(name, { vectorizer: "clip", fusion: [0, 1] });
  const captions = ["a red circle", "a blue square", "a green triangle", "a yellow star"];
  assert.equal(await db.upsert(name, captions.map((text, i) => ({ id: `c${i}`, text })), { batchSize: 3 }), 4);
  const hits = await db.search({ collection: name, text: "a blue square", limit: 1 });
  assert.equal(hits[0]!.id, "c1");
  assert.ok(hits[0]!.score > 0.99);
});

test("an undecodable image is InvalidArgument naming the point", async () => {
  const name = uniqueName();
  await db.createCollection(name);
  await assert.rejects(db.upsert(name, [{ id: "bad", image: Buffer.from("not an image") }]), (e: unknown) => {
    assert.ok(e instanceof InvalidArgument);
    assert.match(e.message, /bad/);
    return true;
  });
  assert.equal(await db.count(name), 0);
});

test("examples/coco_search.mjs imports a COCO-style set and finds an image by its caption", async () => {
  const dir = demoData(20);
  const items = loadDemo(dir);
  const example = resolve(dirname(fileURLToPath(import.meta.url)), "../../examples/coco_search.mjs");
  const target = items[3]!;
  const run = (query: string) =>
    promisify(execFile)(process.execPath, [
      example, join(dir, "captions.json"), join(dir, "images"), query,
      "--server", server.address, "--collection", "coco_example", "--top", "3",
    ]);
  const { stdout } = await run(target.captions[0]!);
  assert.match(stdout, /imported 20 images/);
  const ranked = stdout.split("\n").filter((l) => /^\s*\d+\s+-?\d\.\d{3}\s/.test(l));
  assert.equal(ranked.length, 3);
  assert.ok(ranked[0]!.includes(basename(target.path)), stdout); // its own caption ranks it first
  // a second run finds the collection and only searches
  const again = await run(target.captions[0]!);
  assert.doesNotMatch(again.stdout, /imported/);
  assert.equal(await db.count("coco_example"), 20);
});
