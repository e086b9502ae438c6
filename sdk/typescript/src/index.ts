/**
 * @clipdb/client: the TypeScript/Node client of clipdb.
 *
 * The generated messages and service descriptors are exported from
 * "@clipdb/client/v1" for anything the client does not wrap.
 */
export {
  ClipdbClient,
  DEFAULT_ADDRESS,
  DEFAULT_BATCH_SIZE,
  type ClientOptions,
  type CreateCollectionOptions,
  type QueryOptions,
  type RecommendOptions,
  type ScrollOptions,
  type SearchOptions,
  type Selection,
  type UpsertOptions,
  type UpsertStreamOptions,
} from "./client.js";
export * from "./errors.js";
export {
  Condition,
  Field,
  Filter,
  field,
  hasId,
  toProtoFilter,
  type ConditionJson,
  type FilterInput,
  type FilterJson,
  type RangeJson,
} from "./filters.js";
export type {
  CollectionInfo,
  FusionInput,
  Hit,
  HnswConfig,
  ImageInput,
  MetricName,
  Payload,
  PayloadIndexInfo,
  PayloadIndexTypeName,
  PointInput,
  QuantizationInput,
  QuantizationName,
  SnapshotInfo,
  StoredPoint,
  VectorInput,
  VectorizerName,
} from "./models.js";
export { DEFAULT_RETRY, NO_RETRY, type RetryPolicy } from "./retry.js";
