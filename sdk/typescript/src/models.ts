/** Plain values the client takes and returns, and their conversion to and from the proto. */
import { readFile } from "node:fs/promises";
import { create, isMessage, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type CollectionInfo as ProtoCollectionInfo,
  type FusionWeights as ProtoFusionWeights,
  FusionWeightsSchema,
  Metric,
  type PayloadIndexInfo as ProtoPayloadIndexInfo,
  PayloadIndexState,
  PayloadIndexType,
  type Point as ProtoPoint,
  PointSchema,
  Quantization,
  type ScoredPoint,
  type SnapshotInfo as ProtoSnapshotInfo,
  Vectorizer,
} from "./gen/clipdb/v1/clipdb_pb.js";
import { InvalidArgument } from "./errors.js";

/** A vector: a plain array or a typed array (Float32Array, Float64Array). */
export type VectorInput = ArrayLike<number>;
/** An encoded image (JPEG, PNG, WebP, GIF, BMP): bytes (a Buffer is a Uint8Array) or a file path. */
export type ImageInput = Uint8Array | string;
/** A JSON object (numbers are doubles on the server). */
export type Payload = JsonObject;

/**
 * A point to upsert: `vector`, or (CLIP collections) `image` and/or `text`
 * (or a precomputed `textVector`), with an optional payload.
 */
export interface PointInput {
  id: string | number;
  vector?: VectorInput;
  text?: string;
  image?: ImageInput;
  payload?: Payload;
  textVector?: VectorInput;
}

/** A search hit (hits come best first). */
export interface Hit {
  id: string;
  score: number;
  /** The payload (empty without `withPayload`). */
  payload: Payload;
  /** The stored vector, with `withVector`. */
  vector?: number[];
}

/** A stored point, as `get` and `scroll` return it. */
export interface StoredPoint {
  id: string;
  payload: Payload;
  vector?: number[];
  /** The caption vector of a CLIP point with both an image and a caption. */
  textVector?: number[];
}

export type MetricName = "cosine" | "dot" | "l2";
export type VectorizerName = "none" | "clip";
/**
 * How sealed segments keep the vectors their graph walk reads: "int8" codes
 * (then exact f32 rescoring) or plain "f32"; "default" (the unset value)
 * leaves it to the server's `--default-quantization`, int8 unless changed.
 * A CollectionInfo always reports "int8" or "f32".
 */
export type QuantizationName = "default" | "int8" | "f32";
/**
 * What createCollection accepts: a QuantizationName, or "none", a deprecated
 * alias of "default" (it once meant f32; now it is the proto's unset value).
 */
export type QuantizationInput = QuantizationName | "none";
export type PayloadIndexTypeName = "keyword" | "integer" | "float" | "bool";
/** Weights of a point's image and caption vectors in a CLIP search. */
export type FusionInput = { image: number; text: number } | readonly [image: number, text: number];

export interface HnswConfig {
  m: number;
  efConstruction: number;
  efSearch: number;
}

export interface PayloadIndexInfo {
  key: string;
  type: PayloadIndexTypeName | "unspecified";
  state: "building" | "ready" | "unspecified";
  indexedPoints: number;
  mismatchedPoints: number;
}

export interface CollectionInfo {
  name: string;
  dimension: number;
  metric: MetricName;
  vectorizer: VectorizerName;
  pointCount: number;
  segmentCount: number;
  segmentCapacity: number;
  quantization: QuantizationName;
  hnsw: HnswConfig;
  fusion: { image: number; text: number };
  /** The CLIP model that embedded the collection's text and images (empty until the first). */
  model: string;
  modelFingerprint: string;
  payloadIndexes: PayloadIndexInfo[];
  /** The proto message, for anything not mapped here. */
  raw: ProtoCollectionInfo;
}

export interface SnapshotInfo {
  name: string;
  collection: string;
  sizeBytes: number;
  pointCount: number;
  /** The file's path on the server, for `clipdb snapshot restore`. */
  path: string;
  createdAt?: Date;
  /** Set when the file cannot be read as a snapshot. */
  error: string;
}

// ---- enums ------------------------------------------------------------------

const metrics: Record<MetricName, Metric> = { cosine: Metric.COSINE, dot: Metric.DOT, l2: Metric.L2 };
const vectorizers: Record<VectorizerName, Vectorizer> = { none: Vectorizer.NONE, clip: Vectorizer.CLIP };
const quantizations: Record<QuantizationName, Quantization> = {
  default: Quantization.NONE,
  int8: Quantization.INT8,
  f32: Quantization.F32,
};
const indexTypes: Record<PayloadIndexTypeName, PayloadIndexType> = {
  keyword: PayloadIndexType.PAYLOAD_INDEX_KEYWORD,
  integer: PayloadIndexType.PAYLOAD_INDEX_INTEGER,
  float: PayloadIndexType.PAYLOAD_INDEX_FLOAT,
  bool: PayloadIndexType.PAYLOAD_INDEX_BOOL,
};

function toEnum<N extends string, E>(table: Record<N, E>, value: string, what: string): E {
  const v = (table as Record<string, E>)[value.toLowerCase()];
  if (v === undefined) {
    throw new InvalidArgument(`unknown ${what} ${JSON.stringify(value)}; expected one of ${Object.keys(table).join(", ")}`);
  }
  return v;
}

function fromEnum<N extends string, E>(table: Record<N, E>, value: E): N {
  for (const [name, v] of Object.entries(table) as [N, E][]) if (v === value) return name;
  return String(value) as N;
}

export const metric = (v: MetricName): Metric => toEnum(metrics, v, "metric");
export const vectorizer = (v: VectorizerName): Vectorizer => toEnum(vectorizers, v, "vectorizer");
export const quantization = (v: QuantizationInput): Quantization =>
  v.toLowerCase() === "none" ? Quantization.NONE : toEnum(quantizations, v, "quantization");
export const indexType = (v: PayloadIndexTypeName): PayloadIndexType =>
  toEnum(indexTypes, v, "payload index type");

// ---- values -----------------------------------------------------------------

export function toFloats(v: VectorInput, what: string): number[] {
  if (v === null || typeof v !== "object" || typeof v.length !== "number") {
    throw new InvalidArgument(`${what} must be an array of numbers or a typed array`);
  }
  return Array.from(v, Number);
}

/** Encoded image bytes from bytes or a file path. */
export async function imageBytes(image: ImageInput, what: string): Promise<Uint8Array> {
  if (image instanceof Uint8Array) return image;
  if (typeof image === "string") return new Uint8Array(await readFile(image));
  throw new InvalidArgument(`${what} must be a Uint8Array/Buffer of encoded image bytes or a file path`);
}

export function fusion(f: FusionInput): ProtoFusionWeights {
  if (Array.isArray(f)) {
    const [image, text] = f as readonly [number, number];
    return create(FusionWeightsSchema, { image, text });
  }
  const o = f as { image: number; text: number };
  return create(FusionWeightsSchema, { image: o.image ?? 0, text: o.text ?? 0 });
}

const pointKeys = new Set(["id", "vector", "text", "image", "payload", "textVector"]);

/** A proto Point from a PointInput (reading an image file if a path is given). */
export async function toPoint(p: PointInput | ProtoPoint): Promise<ProtoPoint> {
  if (isMessage(p, PointSchema)) return p;
  if (p === null || typeof p !== "object") throw new InvalidArgument("a point must be an object { id, vector | text | image, payload }");
  const unknown = Object.keys(p).filter((k) => !pointKeys.has(k));
  if (unknown.length) {
    throw new InvalidArgument(`point ${JSON.stringify(p.id)}: unknown keys ${unknown.join(", ")} (expected ${[...pointKeys].join(", ")})`);
  }
  if (p.id === undefined || p.id === null || p.id === "") throw new InvalidArgument("a point needs an id");
  const id = String(p.id);
  const init: MessageInitShape<typeof PointSchema> = { id };
  if (p.vector != null) init.vector = toFloats(p.vector, `point ${id}: vector`);
  if (p.textVector != null) init.textVector = toFloats(p.textVector, `point ${id}: textVector`);
  if (p.text != null) init.text = p.text;
  if (p.image != null) init.image = await imageBytes(p.image, `point ${id}: image`);
  if (p.payload != null) init.payload = p.payload;
  return create(PointSchema, init);
}

/** About the encoded size of a point, to keep each upsert message well under the server's limit. */
export function approximateSize(p: ProtoPoint): number {
  return (
    16 + p.id.length + 5 * (p.vector.length + p.textVector.length) + p.image.length + 3 * p.text.length +
    (p.payload ? 2 * JSON.stringify(p.payload).length : 0)
  );
}

export function hit(p: ScoredPoint): Hit {
  const h: Hit = { id: p.id, score: p.score, payload: p.payload ?? {} };
  if (p.vector.length) h.vector = p.vector;
  return h;
}

export function storedPoint(p: ProtoPoint): StoredPoint {
  const r: StoredPoint = { id: p.id, payload: p.payload ?? {} };
  if (p.vector.length) r.vector = p.vector;
  if (p.textVector.length) r.textVector = p.textVector;
  return r;
}

export function payloadIndexInfo(i: ProtoPayloadIndexInfo): PayloadIndexInfo {
  const states: Record<number, PayloadIndexInfo["state"]> = {
    [PayloadIndexState.BUILDING]: "building",
    [PayloadIndexState.READY]: "ready",
  };
  const type = i.type === PayloadIndexType.PAYLOAD_INDEX_UNSPECIFIED ? "unspecified" : fromEnum(indexTypes, i.type);
  return {
    key: i.key,
    type,
    state: states[i.state] ?? "unspecified",
    indexedPoints: Number(i.indexedPoints),
    mismatchedPoints: Number(i.mismatchedPoints),
  };
}

export function collectionInfo(c: ProtoCollectionInfo): CollectionInfo {
  return {
    name: c.name,
    dimension: c.dimension,
    metric: fromEnum(metrics, c.metric),
    vectorizer: fromEnum(vectorizers, c.vectorizer),
    pointCount: Number(c.pointCount),
    segmentCount: c.segmentCount,
    segmentCapacity: c.segmentCapacity,
    quantization: fromEnum(quantizations, c.quantization),
    hnsw: { m: c.hnsw?.m ?? 0, efConstruction: c.hnsw?.efConstruction ?? 0, efSearch: c.hnsw?.efSearch ?? 0 },
    fusion: { image: c.fusion?.image ?? 0, text: c.fusion?.text ?? 0 },
    model: c.model,
    modelFingerprint: c.modelFingerprint,
    payloadIndexes: c.payloadIndexes.map(payloadIndexInfo),
    raw: c,
  };
}

export function snapshotInfo(s: ProtoSnapshotInfo): SnapshotInfo {
  const out: SnapshotInfo = {
    name: s.name,
    collection: s.collection,
    sizeBytes: Number(s.sizeBytes),
    pointCount: Number(s.pointCount),
    path: s.path,
    error: s.error,
  };
  if (s.createdAt) out.createdAt = timestampDate(s.createdAt);
  return out;
}
