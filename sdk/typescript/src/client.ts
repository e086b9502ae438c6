/** The client: a connection to a clipdb server over gRPC (HTTP/2), with typed, idiomatic calls. */
import { readFileSync } from "node:fs";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  Collections,
  CreateCollectionRequestSchema,
  Embeddings,
  Points,
  type Filter as ProtoFilter,
  type FusionWeights as ProtoFusionWeights,
  type Point as ProtoPoint,
  type SearchRequestSchema,
  UpsertRequestSchema,
  type UpsertRequest,
} from "./gen/clipdb/v1/clipdb_pb.js";
import { Code, errorFor, InvalidArgument, toClipdbError } from "./errors.js";
import { type FilterInput, toProtoFilter } from "./filters.js";
import * as m from "./models.js";
import { DEFAULT_RETRY, NO_RETRY, type RetryPolicy, retryDelay } from "./retry.js";

export const DEFAULT_ADDRESS = "127.0.0.1:50051";
export const DEFAULT_BATCH_SIZE = 256;
// split upserts so that one message stays well under the server's default limit
const DEFAULT_BATCH_BYTES = 8 << 20;

export interface ClientOptions {
  /** "host:port", or "http://host:port" / "https://host:port" (https means TLS). Default 127.0.0.1:50051. */
  address?: string;
  /** Sent as `x-api-key` with every call. */
  apiKey?: string;
  /** Use TLS (with the system's CAs unless `rootCertificates` is given). */
  tls?: boolean;
  /** CA certificates to trust, PEM text or bytes or a file path; implies TLS. */
  rootCertificates?: string | Uint8Array;
  /** A client certificate (mutual TLS): PEM text or bytes or a file path, with `privateKey`. */
  certificateChain?: string | Uint8Array;
  privateKey?: string | Uint8Array;
  /** Deadline of every call, in milliseconds. Default: none. */
  timeout?: number;
  /** Retries of idempotent calls on UNAVAILABLE / RESOURCE_EXHAUSTED; `false` for none. */
  retry?: Partial<RetryPolicy> | false;
}

/** Which points a delete or payload update touches: ids, or those matching a filter. */
export type Selection = Iterable<string | number> | { ids: Iterable<string | number> } | { filter: FilterInput };

export interface CreateCollectionOptions {
  /** Vector dimension. Without it (and `vectorizer`) the collection is CLIP, of the server model's dimension. */
  dimension?: number;
  /** Default "cosine". */
  metric?: m.MetricName;
  /** "none" (the client sends vectors) or "clip" (the server embeds text and images). Default: "clip" without `dimension`, else "none". */
  vectorizer?: m.VectorizerName;
  hnsw?: Partial<m.HnswConfig>;
  /** Default fusion weights of CLIP searches. */
  fusion?: m.FusionInput;
  segmentCapacity?: number;
  /** "int8" or "f32"; default: the server's (`--default-quantization`, int8 unless changed). */
  quantization?: m.QuantizationInput;
}

/** What search, searchBatch and recommend share. */
export interface QueryOptions {
  /** Hits to return (default 10). */
  limit?: number;
  filter?: FilterInput;
  /** Candidate list size (default: the collection's). */
  ef?: number;
  /** Image and caption weights for this query (CLIP collections). */
  fusion?: m.FusionInput;
  /** Attach payloads (default true). */
  withPayload?: boolean;
  /** Attach stored vectors (default false). */
  withVector?: boolean;
  /** Leave out hits worse than this score (a distance, for l2). */
  scoreThreshold?: number;
  /** Skip this many best hits (paging). */
  offset?: number;
  /** Return only these payload keys. */
  payloadFields?: string[];
}

/** A search: exactly one of `vector`, `text`, `image`, `id`. */
export interface SearchOptions extends QueryOptions {
  collection: string;
  vector?: m.VectorInput;
  text?: string;
  image?: m.ImageInput;
  /** "More like this" stored point (left out of the hits). */
  id?: string | number;
}

export interface RecommendOptions extends QueryOptions {
  collection: string;
  /** Examples to move toward: point ids or vectors. */
  positive: (string | number | m.VectorInput)[];
  /** Examples to move away from. */
  negative?: (string | number | m.VectorInput)[];
}

export interface UpsertOptions {
  /** Points per request (default 256); requests are also kept under ~8 MiB. */
  batchSize?: number;
}

export interface UpsertStreamOptions extends UpsertOptions {
  /** Called with the number of points sent so far after each batch. */
  onProgress?: (pointsSent: number) => void;
}

export interface ScrollOptions {
  filter?: FilterInput;
  /** Points per request (default 100). */
  pageSize?: number;
  withPayload?: boolean;
  withVector?: boolean;
}

type PointsInput = Iterable<m.PointInput | ProtoPoint> | AsyncIterable<m.PointInput | ProtoPoint>;
type SearchInit = MessageInitShape<typeof SearchRequestSchema>;
// the fields SearchRequest and RecommendRequest share
type QueryFields = {
  limit: number;
  ef: number;
  withPayload: boolean;
  withVector: boolean;
  offset: number;
  payloadFields: string[];
  filter?: ProtoFilter;
  fusion?: ProtoFusionWeights;
  scoreThreshold?: number;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function readPem(x: string | Uint8Array | undefined): Buffer | undefined {
  if (x === undefined) return undefined;
  if (typeof x !== "string") return Buffer.from(x);
  return x.includes("-----BEGIN") ? Buffer.from(x) : readFileSync(x);
}

/** "host:port" and whether to use TLS, from an address that may be a URL. */
export function parseAddress(address: string, tls: boolean): [target: string, tls: boolean] {
  const strip = (s: string) => s.replace(/\/+$/, "");
  if (address.startsWith("https://")) return [strip(address.slice("https://".length)), true];
  if (address.startsWith("http://")) return [strip(address.slice("http://".length)), tls];
  return [address, tls];
}

function selection(sel: Selection): { ids: string[]; filter?: ReturnType<typeof toProtoFilter> } {
  const iterable = (x: unknown): x is Iterable<string | number> =>
    x !== null && typeof x === "object" && Symbol.iterator in x;
  if (!iterable(sel) && sel !== null && typeof sel === "object" && "filter" in sel) {
    return { ids: [], filter: toProtoFilter(sel.filter) };
  }
  const ids = !iterable(sel) && sel !== null && typeof sel === "object" && "ids" in sel ? sel.ids : sel;
  if (ids === null || typeof ids !== "object" || !(Symbol.iterator in ids)) {
    throw new InvalidArgument("give the point ids (an array) or { filter }");
  }
  return { ids: Array.from(ids as Iterable<string | number>, String) };
}

/**
 * A connection to a clipdb server.
 *
 *     const db = new ClipdbClient({ address: "127.0.0.1:50051", apiKey });
 *     const hits = await db.search({ collection: "photos", text: "a red car", limit: 5 });
 *     db.close();
 *
 * Every failed call rejects with a ClipdbError subclass (NotFound,
 * InvalidArgument, ...) carrying the server's message.
 */
export class ClipdbClient {
  readonly address: string;
  private readonly session: Http2SessionManager;
  private readonly collections: Client<typeof Collections>;
  private readonly points: Client<typeof Points>;
  private readonly embeddings: Client<typeof Embeddings>;
  private readonly retry: RetryPolicy;
  private closed = false;

  constructor(options: ClientOptions = {}) {
    const rootCertificates = readPem(options.rootCertificates);
    const [target, tls] = parseAddress(options.address ?? DEFAULT_ADDRESS, options.tls ?? rootCertificates !== undefined);
    this.address = target;
    const baseUrl = `${tls ? "https" : "http"}://${target}`;
    const cert = readPem(options.certificateChain);
    const key = readPem(options.privateKey);
    const nodeOptions = tls ? { ...(rootCertificates && { ca: rootCertificates }), ...(cert && { cert }), ...(key && { key }) } : {};
    // our own session manager, so that close() can end the HTTP/2 connection
    this.session = new Http2SessionManager(baseUrl, {}, nodeOptions);
    const interceptors: Interceptor[] = [];
    const apiKey = options.apiKey;
    if (apiKey) {
      interceptors.push((next) => (req) => {
        req.header.set("x-api-key", apiKey);
        return next(req);
      });
    }
    const transport = createGrpcTransport({
      baseUrl,
      sessionManager: this.session,
      interceptors,
      ...(options.timeout !== undefined && { defaultTimeoutMs: options.timeout }),
    });
    this.collections = createClient(Collections, transport);
    this.points = createClient(Points, transport);
    this.embeddings = createClient(Embeddings, transport);
    this.retry = options.retry === false ? NO_RETRY : { ...DEFAULT_RETRY, ...options.retry };
  }

  /** Closes the connection; later calls fail. */
  close(): void {
    this.closed = true;
    this.session.abort();
  }

  /** Runs a call, mapping errors to ClipdbError and retrying idempotent calls per the retry policy. */
  private async call<T>(fn: () => Promise<T>, idempotent = true): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw errorFor(Code.Canceled, "the ClipdbClient is closed");
      try {
        return await fn();
      } catch (e) {
        const error = toClipdbError(e);
        const delay = idempotent ? retryDelay(this.retry, attempt, error.code) : undefined;
        if (delay === undefined) throw error;
        await sleep(delay);
      }
    }
  }

  // ---- collections ----------------------------------------------------------

  /** Creates a collection (ALREADY_EXISTS if the name is taken). */
  async createCollection(name: string, options: CreateCollectionOptions = {}): Promise<m.CollectionInfo> {
    const vectorizer = options.vectorizer ?? (options.dimension === undefined ? "clip" : "none");
    const req = create(CreateCollectionRequestSchema, {
      name,
      dimension: options.dimension ?? 0,
      metric: m.metric(options.metric ?? "cosine"),
      vectorizer: m.vectorizer(vectorizer),
      segmentCapacity: options.segmentCapacity ?? 0,
      quantization: m.quantization(options.quantization ?? "default"),
      ...(options.hnsw && { hnsw: options.hnsw }),
      ...(options.fusion && { fusion: m.fusion(options.fusion) }),
    });
    return m.collectionInfo(await this.call(() => this.collections.createCollection(req), false));
  }

  async getCollection(name: string): Promise<m.CollectionInfo> {
    return m.collectionInfo(await this.call(() => this.collections.getCollection({ name })));
  }

  /** Every collection, ordered by name. */
  async listCollections(): Promise<m.CollectionInfo[]> {
    const resp = await this.call(() => this.collections.listCollections({}));
    return resp.collections.map(m.collectionInfo);
  }

  async collectionExists(name: string): Promise<boolean> {
    return (await this.listCollections()).some((c) => c.name === name);
  }

  /** Drops a collection and its data (its snapshots are kept). */
  async deleteCollection(name: string): Promise<void> {
    await this.call(() => this.collections.deleteCollection({ name }), false);
  }

  async createPayloadIndex(collection: string, key: string, type: m.PayloadIndexTypeName = "keyword"): Promise<m.PayloadIndexInfo> {
    const t = m.indexType(type);
    return m.payloadIndexInfo(await this.call(() => this.collections.createPayloadIndex({ collection, key, type: t })));
  }

  async deletePayloadIndex(collection: string, key: string): Promise<void> {
    await this.call(() => this.collections.deletePayloadIndex({ collection, key }), false);
  }

  /** Writes a snapshot (backup) of a collection on the server. */
  async createSnapshot(collection: string): Promise<m.SnapshotInfo> {
    return m.snapshotInfo(await this.call(() => this.collections.createSnapshot({ collection }), false));
  }

  /** Snapshots of one collection, or of every collection; oldest first. */
  async listSnapshots(collection?: string): Promise<m.SnapshotInfo[]> {
    const resp = await this.call(() => this.collections.listSnapshots({ collection: collection ?? "" }));
    return resp.snapshots.map(m.snapshotInfo);
  }

  async deleteSnapshot(collection: string, name: string): Promise<void> {
    await this.call(() => this.collections.deleteSnapshot({ collection, name }), false);
  }

  // ---- points ---------------------------------------------------------------

  /** UpsertRequests of at most batchSize points and about DEFAULT_BATCH_BYTES. */
  private async *batches(collection: string, points: PointsInput, batchSize: number): AsyncGenerator<UpsertRequest> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgument(`batchSize must be a positive integer, not ${batchSize}`);
    let batch: ProtoPoint[] = [];
    let size = 0;
    for await (const p of points) {
      const point = await m.toPoint(p);
      const n = m.approximateSize(point);
      if (batch.length && (batch.length >= batchSize || size + n > DEFAULT_BATCH_BYTES)) {
        yield create(UpsertRequestSchema, { collection, points: batch });
        batch = [];
        size = 0;
      }
      batch.push(point);
      size += n;
    }
    if (batch.length) yield create(UpsertRequestSchema, { collection, points: batch });
  }

  /**
   * Inserts or replaces points, `batchSize` per request (each request is all
   * or nothing and durable when it returns). Resolves to the count written.
   * `points` may be an array, any iterable or an async iterable.
   */
  async upsert(collection: string, points: PointsInput, options: UpsertOptions = {}): Promise<number> {
    let written = 0;
    for await (const req of this.batches(collection, points, options.batchSize ?? DEFAULT_BATCH_SIZE)) {
      written += Number((await this.call(() => this.points.upsert(req))).upserted);
    }
    return written;
  }

  /**
   * Bulk load over one streaming call: batches are applied in order, and
   * `onProgress(pointsSent)` is called as each is sent. On an error the
   * batches before the failing one stay stored (never retried).
   */
  async upsertStream(collection: string, points: PointsInput, options: UpsertStreamOptions = {}): Promise<number> {
    let localError: unknown;
    const batches = this.batches(collection, points, options.batchSize ?? DEFAULT_BATCH_SIZE);
    async function* requests(): AsyncGenerator<UpsertRequest> {
      let sent = 0;
      try {
        for await (const req of batches) {
          yield req;
          sent += req.points.length;
          options.onProgress?.(sent);
        }
      } catch (e) {
        localError = e; // a bad point or a throwing input: report it, not the aborted call
        throw e;
      }
    }
    try {
      return Number((await this.call(() => this.points.upsertStream(requests()), false)).upserted);
    } catch (e) {
      throw localError ?? e;
    }
  }

  /** Points by id, in the order asked; missing ids are left out. */
  async get(collection: string, ids: Iterable<string | number>, options: { withVector?: boolean } = {}): Promise<m.StoredPoint[]> {
    const req = { collection, ids: Array.from(ids, String), withVector: options.withVector ?? false };
    return (await this.call(() => this.points.get(req))).points.map(m.storedPoint);
  }

  /** Deletes points by id (missing ids are ignored) or `{ filter }`; resolves to the count deleted. */
  async delete(collection: string, which: Selection): Promise<number> {
    const sel = selection(which);
    return Number((await this.call(() => this.points.delete({ collection, ...sel }))).deleted);
  }

  /** Live points, or those matching `filter`. */
  async count(collection: string, filter?: FilterInput): Promise<number> {
    const f = toProtoFilter(filter);
    return Number((await this.call(() => this.points.count({ collection, ...(f && { filter: f }) }))).count);
  }

  /** Every point (matching `filter`) in id order, fetched page by page. */
  async *scroll(collection: string, options: ScrollOptions = {}): AsyncGenerator<m.StoredPoint> {
    const f = toProtoFilter(options.filter);
    let pageToken = "";
    do {
      const req = {
        collection,
        ...(f && { filter: f }),
        limit: options.pageSize ?? 100,
        pageToken,
        withPayload: options.withPayload ?? true,
        withVector: options.withVector ?? false,
      };
      const resp = await this.call(() => this.points.scroll(req));
      for (const p of resp.points) yield m.storedPoint(p);
      pageToken = resp.nextPageToken;
    } while (pageToken);
  }

  private static queryFields(o: QueryOptions): QueryFields {
    const f = toProtoFilter(o.filter);
    return {
      limit: o.limit ?? 10,
      ef: o.ef ?? 0,
      withPayload: o.withPayload ?? true,
      withVector: o.withVector ?? false,
      offset: o.offset ?? 0,
      payloadFields: o.payloadFields ?? [],
      ...(f && { filter: f }),
      ...(o.fusion && { fusion: m.fusion(o.fusion) }),
      ...(o.scoreThreshold !== undefined && { scoreThreshold: o.scoreThreshold }),
    };
  }

  private static async searchRequest(s: SearchOptions): Promise<SearchInit> {
    const given = (["vector", "text", "image", "id"] as const).filter((k) => s[k] !== undefined && s[k] !== null);
    if (given.length !== 1) {
      throw new InvalidArgument(`search needs exactly one of vector, text, image, id${given.length ? ` (got ${given.join(", ")})` : ""}`);
    }
    if (typeof s.collection !== "string") throw new InvalidArgument("each search needs a collection");
    let query: SearchInit["query"];
    if (s.vector != null) query = { case: "vector", value: { values: m.toFloats(s.vector, "vector") } };
    else if (s.text != null) query = { case: "text", value: s.text };
    else if (s.image != null) query = { case: "image", value: await m.imageBytes(s.image, "image") };
    else query = { case: "id", value: String(s.id) };
    return { collection: s.collection, query, ...ClipdbClient.queryFields(s) };
  }

  /** Nearest neighbours of a vector, a text, an image or a stored point (exactly one), best first. */
  async search(options: SearchOptions): Promise<m.Hit[]> {
    const req = await ClipdbClient.searchRequest(options);
    return (await this.call(() => this.points.search(req))).hits.map(m.hit);
  }

  /** Many searches in one call (each with its own collection, or `collection`); results in order. */
  async searchBatch(
    searches: (Omit<SearchOptions, "collection"> & { collection?: string })[],
    options: { collection?: string } = {},
  ): Promise<m.Hit[][]> {
    const reqs = await Promise.all(
      searches.map((s) => {
        const collection = s.collection ?? options.collection;
        if (collection === undefined) throw new InvalidArgument("each search needs a collection (or pass { collection })");
        return ClipdbClient.searchRequest({ ...s, collection });
      }),
    );
    const resp = await this.call(() => this.points.searchBatch({ searches: reqs }));
    return resp.results.map((r) => r.hits.map(m.hit));
  }

  /** More like `positive`, less like `negative` (point ids or vectors). */
  async recommend(options: RecommendOptions): Promise<m.Hit[]> {
    const split = (examples: RecommendOptions["positive"], what: string) => {
      const ids: string[] = [];
      const vectors: { values: number[] }[] = [];
      for (const e of examples) {
        if (typeof e === "string" || typeof e === "number") ids.push(String(e));
        else vectors.push({ values: m.toFloats(e, what) });
      }
      return [ids, vectors] as const;
    };
    const [positiveIds, positiveVectors] = split(options.positive, "a positive example");
    const [negativeIds, negativeVectors] = split(options.negative ?? [], "a negative example");
    const req = {
      collection: options.collection,
      positiveIds,
      positiveVectors,
      negativeIds,
      negativeVectors,
      ...ClipdbClient.queryFields(options),
    };
    return (await this.call(() => this.points.recommend(req))).hits.map(m.hit);
  }

  /** Merges `payload` into (or with `replace`, substitutes it for) the payload of the selected points. */
  async setPayload(collection: string, payload: m.Payload, which: Selection, options: { replace?: boolean } = {}): Promise<number> {
    const req = { collection, payload, replace: options.replace ?? false, ...selection(which) };
    return Number((await this.call(() => this.points.setPayload(req))).updated);
  }

  /** Removes payload keys (top-level or dotted) from the selected points. */
  async deletePayloadKeys(collection: string, keys: Iterable<string>, which: Selection): Promise<number> {
    const req = { collection, keys: [...keys], ...selection(which) };
    return Number((await this.call(() => this.points.deletePayloadKeys(req))).updated);
  }

  // ---- embeddings -----------------------------------------------------------

  /** CLIP embeddings (L2-normalised): one vector for a string, one per text for an array. */
  embedText(text: string): Promise<number[]>;
  embedText(texts: readonly string[]): Promise<number[][]>;
  async embedText(texts: string | readonly string[]): Promise<number[] | number[][]> {
    const list = typeof texts === "string" ? [texts] : [...texts];
    const resp = await this.call(() => this.embeddings.embedText({ texts: list }));
    const vectors = resp.embeddings.map((e) => e.values);
    return typeof texts === "string" ? (vectors[0] ?? []) : vectors;
  }

  /** Like embedText, for one image or an array of images (bytes or file paths). */
  embedImage(image: m.ImageInput): Promise<number[]>;
  embedImage(images: readonly m.ImageInput[]): Promise<number[][]>;
  async embedImage(images: m.ImageInput | readonly m.ImageInput[]): Promise<number[] | number[][]> {
    const single = !Array.isArray(images);
    const list = single ? [images as m.ImageInput] : (images as readonly m.ImageInput[]);
    const bytes = await Promise.all(list.map((i, n) => m.imageBytes(i, `images[${n}]`)));
    const resp = await this.call(() => this.embeddings.embedImage({ images: bytes }));
    const vectors = resp.embeddings.map((e) => e.values);
    return single ? (vectors[0] ?? []) : vectors;
  }
}

