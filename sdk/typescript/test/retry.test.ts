/**
 * Retries and deadlines, against a gRPC server in this process that fails or
 * stalls on purpose (the real server does not on demand): Connect's Node
 * server adapter over HTTP/2 on a loopback port, serving the generated Points
 * service.
 */
import assert from "node:assert/strict";
import { createServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, test } from "node:test";
import { Code as ConnectCode, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ClipdbClient, ClipdbError, Code, DEFAULT_RETRY, DeadlineExceeded, ResourceExhausted, Unavailable } from "@clipdb/client";
import { Points } from "@clipdb/client/v1";

let failures = 0;
let failWith = ConnectCode.Unavailable;
let calls: string[] = [];
let server: Http2Server;
let address: string;

function maybeFail(method: string): void {
  calls.push(method);
  if (calls.filter((c) => c === method).length <= failures) throw new ConnectError(`try again (${method})`, failWith);
}

before(async () => {
  const handler = connectNodeAdapter({
    grpc: true,
    connect: false,
    grpcWeb: false,
    routes: (router) =>
      router.service(Points, {
        count() {
          maybeFail("Count");
          return { count: 7n };
        },
        async get(_request, context) {
          calls.push("Get");
          // stalls until the client gives up (its deadline aborts the call)
          await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
          return {};
        },
        async upsertStream(requests) {
          let n = 0n;
          for await (const r of requests) n += BigInt(r.points.length);
          maybeFail("UpsertStream");
          return { upserted: n };
        },
      }),
  });
  server = createServer(handler);
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((done) => server.close(() => done())));

beforeEach(() => {
  calls = [];
});

const FAST = { maxAttempts: 4, initialBackoff: 10, maxBackoff: 50 };

for (const [code, cls] of [
  [ConnectCode.Unavailable, Unavailable],
  [ConnectCode.ResourceExhausted, ResourceExhausted],
] as const) {
  test(`idempotent calls are retried on ${cls.name}; streams are not`, async () => {
    failures = 2;
    failWith = code;
    const db = new ClipdbClient({ address, retry: FAST, timeout: 10_000 });
    assert.equal(await db.count("c"), 7);
    assert.deepEqual(calls, ["Count", "Count", "Count"]);
    await assert.rejects(db.upsertStream("c", [{ id: "a", vector: [1] }]), (e: unknown) => {
      assert.ok(e instanceof cls);
      assert.equal(e.message, "try again (UpsertStream)");
      return true;
    });
    assert.deepEqual(calls.filter((c) => c === "UpsertStream"), ["UpsertStream"]);
    db.close();

    calls = [];
    const noRetry = new ClipdbClient({ address, retry: false, timeout: 10_000 });
    await assert.rejects(noRetry.count("c"), cls);
    assert.deepEqual(calls, ["Count"]);
    noRetry.close();
  });
}

test("gives up after maxAttempts", async () => {
  failures = 10;
  failWith = ConnectCode.Unavailable;
  const db = new ClipdbClient({ address, retry: FAST, timeout: 10_000 });
  await assert.rejects(db.count("c"), (e: unknown) => e instanceof Unavailable && /try again/.test(e.message));
  assert.equal(calls.length, 4);
  db.close();
});

test("other codes are not retried", async () => {
  failures = 1;
  failWith = ConnectCode.Internal;
  const db = new ClipdbClient({ address, retry: FAST, timeout: 10_000 });
  await assert.rejects(db.count("c"), (e: unknown) => e instanceof ClipdbError && e.code === Code.Internal && e.name === "Internal");
  assert.deepEqual(calls, ["Count"]);
  db.close();
});

test("nothing listening is Unavailable, after the retries", async () => {
  assert.deepEqual(DEFAULT_RETRY.codes, [Code.Unavailable, Code.ResourceExhausted]);
  const db = new ClipdbClient({ address: "127.0.0.1:1", retry: { maxAttempts: 2, initialBackoff: 1 }, timeout: 5_000 });
  await assert.rejects(db.listCollections(), Unavailable);
  db.close();
  await assert.rejects(db.count("c"), /closed/);
});

test("a call past its deadline is DeadlineExceeded, and not retried", async () => {
  const db = new ClipdbClient({ address, retry: FAST, timeout: 200 });
  await assert.rejects(db.get("c", ["a"]), DeadlineExceeded);
  assert.deepEqual(calls, ["Get"]);
  db.close();
});
