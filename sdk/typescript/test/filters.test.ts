/** The filter builder produces the proto's JSON shape (what the server answers is tested in vectors.test). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Filter, field, hasId, InvalidArgument, Code, toProtoFilter } from "@clipdb/client";

test("builder shapes", () => {
  assert.deepEqual(Filter.must(field("colour").eq("red"), field("year").range({ gte: 2020, lt: undefined })).toJSON(), {
    must: [
      { key: "colour", equals: "red" },
      { key: "year", range: { gte: 2020 } },
    ],
  });
  assert.deepEqual(
    new Filter({ should: [field("tags").any(["cat", "dog"]), field("meta.author").text("smith")], mustNot: [hasId(["a", 2]), field("note").isEmpty()] }).toJSON(),
    {
      should: [
        { key: "tags", any: { values: ["cat", "dog"] } },
        { key: "meta.author", text: "smith" },
      ],
      mustNot: [{ hasId: { ids: ["a", "2"] } }, { key: "note", isEmpty: {} }],
    },
  );
  assert.deepEqual(field("a").ne(1).toJSON(), { filter: { mustNot: [{ key: "a", equals: 1 }] } });
  assert.deepEqual(Filter.must(field("a").eq(1)).mustNot(field("b").eq(2)).toJSON(), {
    must: [{ key: "a", equals: 1 }],
    mustNot: [{ key: "b", equals: 2 }],
  });
  assert.deepEqual(field("a").gt(1).or(Filter.should(field("b").lte(2))).toJSON(), {
    should: [{ key: "a", range: { gt: 1 } }, { filter: { should: [{ key: "b", range: { lte: 2 } }] } }],
  });
  assert.deepEqual(Filter.must(field("a").eq(true)).not().toJSON(), { mustNot: [{ filter: { must: [{ key: "a", equals: true } ] } }] });
});

test("every form becomes the same proto Filter", () => {
  const built = toProtoFilter(Filter.must(field("colour").eq("red"), field("year").gte(2020)));
  const plain = toProtoFilter({ must: [{ key: "colour", equals: "red" }, { key: "year", range: { gte: 2020 } }] });
  assert.deepEqual(plain, built);
  assert.equal(built!.must.length, 2);
  assert.equal(built!.must[1]!.match.case, "range");
  assert.deepEqual(toProtoFilter(field("colour").eq("red"))!.must.length, 1);
  assert.equal(toProtoFilter(built), built);
  assert.equal(toProtoFilter(undefined), undefined);
  assert.throws(() => toProtoFilter({ must: [{ key: "a", bogus: 1 }] } as never), (e: unknown) =>
    e instanceof InvalidArgument && e.code === Code.InvalidArgument && /bad filter/.test(e.message) && /bogus/.test(e.message),
  );
});
