// @ts-check
// Text-to-image search with clipdb: import captioned images from a COCO-style
// annotations file, search with a sentence, print the top hits.
//
//   clipdb serve &                                   # bundled demo CLIP model
//   clipdb demo-data --out shapes --count 200        # or COCO: captions_val2017.json + val2017/
//   node examples/coco_search.mjs shapes/captions.json shapes/images "a red circle" --top 8
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ClipdbClient } from "@clipdb/client";

const { positionals, values: opt } = parseArgs({
  allowPositionals: true,
  options: {
    server: { type: "string", default: "127.0.0.1:50051" },
    collection: { type: "string", default: "coco" },
    top: { type: "string", default: "8" },
  },
});
const [annotations, images, query] = positionals;
if (!annotations || !images || !query) throw new Error("usage: coco_search.mjs ANNOTATIONS.json IMAGES_DIR QUERY [--top N]");

/** @type {{images: {id: number, file_name: string}[], annotations: {image_id: number, caption: string}[]}} */
const coco = JSON.parse(await readFile(annotations, "utf8"));
/** @type {Map<number, string[]>} */
const captions = new Map();
for (const a of coco.annotations) captions.set(a.image_id, [...(captions.get(a.image_id) ?? []), a.caption]);

const db = new ClipdbClient({ address: opt.server });
try {
  if (!(await db.collectionExists(opt.collection))) {
    await db.createCollection(opt.collection); // CLIP: the server embeds images and captions
    /** @param {string[]} caps the normalised mean of the captions' embeddings */
    const captionVector = async (caps) => {
      const vs = await db.embedText(caps);
      const mean = vs[0].map((_, d) => vs.reduce((s, v) => s + v[d], 0) / vs.length);
      const norm = Math.hypot(...mean);
      return mean.map((x) => x / norm);
    };
    const points = async function* () {
      for (const im of coco.images) {
        const caps = captions.get(im.id) ?? [];
        yield {
          id: im.id,
          image: join(images, im.file_name), // a path; the client reads the file
          ...(caps.length && { textVector: await captionVector(caps) }),
          payload: { file_name: im.file_name, captions: caps },
        };
      }
    };
    const n = await db.upsertStream(opt.collection, points(), {
      batchSize: 64,
      onProgress: (k) => process.stdout.write(`\rimported ${k} images`),
    });
    console.log(`\rimported ${n} images`);
  }
  const hits = await db.search({ collection: opt.collection, text: query, limit: Number(opt.top) });
  hits.forEach((h, i) => {
    const caps = /** @type {string[]} */ (h.payload.captions ?? []);
    console.log(`${String(i + 1).padStart(2)}  ${h.score.toFixed(3)}  ${h.payload.file_name}  ${JSON.stringify(caps[0] ?? "")}`);
  });
} finally {
  db.close();
}
