// Type-checked and run by test.sh in a scratch project with the packed SDK
// installed: the public API and "@clipdb/client/v1" resolve, and a call to a
// port where nothing listens rejects with Unavailable.
import { ClipdbClient, Filter, field, type Hit, Unavailable } from "@clipdb/client";
import { SearchRequestSchema } from "@clipdb/client/v1";

const db = new ClipdbClient({ address: "127.0.0.1:1", retry: false, timeout: 5000 });
try {
  const hits: Hit[] = await db.search({ collection: "x", vector: [1, 2], filter: Filter.must(field("a").eq(1)) });
  throw new Error(`expected Unavailable, got ${hits.length} hits`);
} catch (e) {
  if (!(e instanceof Unavailable)) throw e;
} finally {
  db.close();
}
console.log(`@clipdb/client imports and type-checks (${SearchRequestSchema.typeName})`);
