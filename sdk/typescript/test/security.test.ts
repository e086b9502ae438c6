/** API keys and TLS, against servers started with --api-key / --read-only-api-key and --tls-cert / --tls-key. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { ClipdbClient, ClipdbError, PermissionDenied, Unauthenticated, Unavailable } from "@clipdb/client";
import { type Certificates, makeCertificates } from "./certificates.js";
import { type Server, startServer, tempDir, uniqueName } from "./helpers.js";

describe("API keys", () => {
  let server: Server;
  before(async () => {
    server = await startServer("keys", ["--model", "none", "--api-key", "write-key", "--read-only-api-key", "read-key"]);
  });
  after(() => server.stop());

  test("no key or a wrong key is Unauthenticated; a read-only key cannot write", async () => {
    const name = uniqueName();
    for (const apiKey of [undefined, "wrong"]) {
      const anon = new ClipdbClient({ address: server.address, ...(apiKey && { apiKey }), timeout: 30_000 });
      await assert.rejects(anon.listCollections(), Unauthenticated);
      anon.close();
    }
    const writer = new ClipdbClient({ address: server.address, apiKey: "write-key", timeout: 30_000 });
    await writer.createCollection(name, { dimension: 2 });
    assert.equal(await writer.upsert(name, [{ id: "a", vector: [1, 0] }]), 1);
    writer.close();

    const reader = new ClipdbClient({ address: server.address, apiKey: "read-key", timeout: 30_000 });
    assert.deepEqual((await reader.search({ collection: name, vector: [1, 0] })).map((h) => h.id), ["a"]);
    assert.equal(await reader.count(name), 1);
    await assert.rejects(reader.upsert(name, [{ id: "b", vector: [0, 1] }]), (e: unknown) => {
      assert.ok(e instanceof PermissionDenied);
      assert.ok(e.message.length > 0);
      return true;
    });
    await assert.rejects(reader.deleteCollection(name), PermissionDenied);
    assert.equal(await reader.count(name), 1);
    reader.close();
  });
});

describe("TLS", () => {
  let server: Server;
  let certs: Certificates;
  before(async () => {
    certs = await makeCertificates(tempDir("certs"));
    server = await startServer("tls", ["--model", "none", "--tls-cert", certs.cert, "--tls-key", certs.key]);
  });
  after(() => server.stop());

  test("with the CA as PEM, as a path, and https://", async () => {
    const name = uniqueName();
    const pem = readFileSync(certs.ca, "utf8");
    const db = new ClipdbClient({ address: server.address, tls: true, rootCertificates: pem, timeout: 30_000 });
    await db.createCollection(name, { dimension: 2 });
    assert.equal(await db.upsert(name, [{ id: "a", vector: [1, 0] }]), 1);
    db.close();
    // a path to the CA works too, and https:// implies TLS
    const byPath = new ClipdbClient({ address: `https://${server.address}`, rootCertificates: certs.ca, timeout: 30_000 });
    assert.equal(await byPath.count(name), 1);
    byPath.close();
    const byBytes = new ClipdbClient({ address: server.address, rootCertificates: readFileSync(certs.ca), timeout: 30_000 });
    assert.equal(await byBytes.count(name), 1);
    byBytes.close();
  });

  test("an untrusted certificate or plaintext against TLS fails", async () => {
    // without the CA the server's certificate is not trusted
    const untrusted = new ClipdbClient({ address: server.address, tls: true, timeout: 5_000, retry: false });
    await assert.rejects(untrusted.count("any"), Unavailable);
    untrusted.close();
    const plaintext = new ClipdbClient({ address: server.address, timeout: 5_000, retry: false });
    await assert.rejects(plaintext.count("any"), ClipdbError);
    plaintext.close();
  });
});

describe("mutual TLS", () => {
  let server: Server;
  let certs: Certificates;
  before(async () => {
    certs = await makeCertificates(tempDir("mtls"));
    server = await startServer("mtls", ["--model", "none", "--tls-cert", certs.cert, "--tls-key", certs.key, "--tls-client-ca", certs.ca]);
  });
  after(() => server.stop());

  test("a client certificate is presented with certificateChain and privateKey", async () => {
    const db = new ClipdbClient({
      address: server.address,
      rootCertificates: certs.ca,
      certificateChain: certs.clientCert,
      privateKey: readFileSync(certs.clientKey, "utf8"),
      timeout: 30_000,
    });
    assert.deepEqual(await db.listCollections(), []);
    db.close();
    const without = new ClipdbClient({ address: server.address, rootCertificates: certs.ca, timeout: 5_000, retry: false });
    await assert.rejects(without.listCollections(), Unavailable); // the server refuses the handshake
    without.close();
  });
});
