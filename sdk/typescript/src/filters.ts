/**
 * Payload filters: plain objects in the proto's JSON shape, or this builder.
 *
 *     Filter.must(field("colour").eq("red"), field("year").range({ gte: 2020 }))
 *     new Filter({ should: [field("tags").any(["cat", "dog"])], mustNot: [hasId(["a"])] })
 *     { must: [{ key: "colour", equals: "red" }] }          // the same as an object
 */
import { fromJson, isMessage, type JsonValue } from "@bufbuild/protobuf";
import { type Filter as ProtoFilter, FilterSchema } from "./gen/clipdb/v1/clipdb_pb.js";
import { InvalidArgument } from "./errors.js";

/** Numeric bounds; unset bounds are open. */
export interface RangeJson {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/** One condition in the proto's JSON shape (snake_case keys are accepted too). */
export interface ConditionJson {
  key?: string;
  equals?: JsonValue;
  range?: RangeJson;
  any?: { values: JsonValue[] };
  isEmpty?: Record<string, never>;
  hasId?: { ids: string[] };
  text?: string;
  filter?: FilterJson;
}

/** A filter in the proto's JSON shape: every `must` holds, at least one
 * `should` holds (when any are given), no `mustNot` holds. */
export interface FilterJson {
  must?: ConditionJson[];
  should?: ConditionJson[];
  mustNot?: ConditionJson[];
}

type ConditionLike = Condition | Filter | ConditionJson;

/** What every call taking a filter accepts. */
export type FilterInput = Filter | Condition | FilterJson | ProtoFilter;

/** One test on a payload field, the point id, or a nested filter. */
export class Condition {
  constructor(readonly spec: ConditionJson) {}

  /** Holds when this condition does not. */
  not(): Condition {
    return new Condition({ filter: { mustNot: [this.spec] } });
  }

  /** Both hold. */
  and(other: ConditionLike): Filter {
    return new Filter({ must: [this, other] });
  }

  /** Either holds. */
  or(other: ConditionLike): Filter {
    return new Filter({ should: [this, other] });
  }

  toJSON(): ConditionJson {
    return { ...this.spec };
  }
}

/** A payload field, dotted for nested objects ("meta.author"). */
export class Field {
  constructor(readonly key: string) {}

  /** The field equals this string, number or boolean. */
  eq(value: JsonValue): Condition {
    return new Condition({ key: this.key, equals: value });
  }

  /** The field does not equal this value (or is missing). */
  ne(value: JsonValue): Condition {
    return this.eq(value).not();
  }

  gt(value: number): Condition {
    return this.range({ gt: value });
  }

  gte(value: number): Condition {
    return this.range({ gte: value });
  }

  lt(value: number): Condition {
    return this.range({ lt: value });
  }

  lte(value: number): Condition {
    return this.range({ lte: value });
  }

  /** The field is a number within these bounds. */
  range(bounds: RangeJson): Condition {
    const r: RangeJson = {};
    for (const k of ["gt", "gte", "lt", "lte"] as const) {
      if (bounds[k] !== undefined) r[k] = bounds[k];
    }
    return new Condition({ key: this.key, range: r });
  }

  /** The field equals one of these values. */
  any(values: Iterable<JsonValue>): Condition {
    return new Condition({ key: this.key, any: { values: [...values] } });
  }

  /** The field is missing, null or an empty list. */
  isEmpty(): Condition {
    return new Condition({ key: this.key, isEmpty: {} });
  }

  /** The field is a string containing every word of `words`, ignoring case. */
  text(words: string): Condition {
    return new Condition({ key: this.key, text: words });
  }
}

/** A payload field, for building conditions: `field("year").gte(2020)`. */
export function field(key: string): Field {
  return new Field(key);
}

/** The point's id is one of these. */
export function hasId(ids: Iterable<string | number>): Condition {
  return new Condition({ hasId: { ids: [...ids].map(String) } });
}

function conditionJson(c: ConditionLike): ConditionJson {
  if (c instanceof Condition) return c.toJSON();
  if (c instanceof Filter) return { filter: c.toJSON() };
  return { ...c };
}

/** A filter. The static `Filter.must(...)` builds one; on a filter, `.must(...)` adds clauses. */
export class Filter {
  private readonly spec: FilterJson;

  constructor(clauses: { must?: ConditionLike[]; should?: ConditionLike[]; mustNot?: ConditionLike[] } = {}) {
    const spec: FilterJson = {};
    if (clauses.must?.length) spec.must = clauses.must.map(conditionJson);
    if (clauses.should?.length) spec.should = clauses.should.map(conditionJson);
    if (clauses.mustNot?.length) spec.mustNot = clauses.mustNot.map(conditionJson);
    this.spec = spec;
  }

  static must(...conditions: ConditionLike[]): Filter {
    return new Filter({ must: conditions });
  }

  static should(...conditions: ConditionLike[]): Filter {
    return new Filter({ should: conditions });
  }

  static mustNot(...conditions: ConditionLike[]): Filter {
    return new Filter({ mustNot: conditions });
  }

  must(...conditions: ConditionLike[]): Filter {
    return this.adding("must", conditions);
  }

  should(...conditions: ConditionLike[]): Filter {
    return this.adding("should", conditions);
  }

  mustNot(...conditions: ConditionLike[]): Filter {
    return this.adding("mustNot", conditions);
  }

  /** Both hold. */
  and(other: ConditionLike): Filter {
    return new Filter({ must: [this, other] });
  }

  /** Either holds. */
  or(other: ConditionLike): Filter {
    return new Filter({ should: [this, other] });
  }

  /** Holds when this filter does not. */
  not(): Filter {
    return new Filter({ mustNot: [this] });
  }

  toJSON(): FilterJson {
    const out: FilterJson = {};
    if (this.spec.must) out.must = [...this.spec.must];
    if (this.spec.should) out.should = [...this.spec.should];
    if (this.spec.mustNot) out.mustNot = [...this.spec.mustNot];
    return out;
  }

  private adding(clause: keyof FilterJson, conditions: ConditionLike[]): Filter {
    const spec = this.toJSON();
    const f = new Filter();
    Object.assign(f.spec, spec, { [clause]: [...(spec[clause] ?? []), ...conditions.map(conditionJson)] });
    return f;
  }
}

/**
 * The proto Filter for a Filter, a single Condition, an object in the proto's
 * JSON shape (camelCase or snake_case keys), or a clipdb.v1 Filter message.
 * A malformed object is InvalidArgument, before any call.
 */
export function toProtoFilter(f: FilterInput | undefined | null): ProtoFilter | undefined {
  if (f === undefined || f === null) return undefined;
  if (isMessage(f, FilterSchema)) return f;
  const spec = f instanceof Filter ? f.toJSON() : f instanceof Condition ? { must: [f.toJSON()] } : f;
  try {
    return fromJson(FilterSchema, spec as unknown as JsonValue);
  } catch (e) {
    throw new InvalidArgument(`bad filter ${JSON.stringify(spec)}: ${(e as Error).message}`);
  }
}
