/**
 * Test certificates, made in the test with WebCrypto and @peculiar/x509
 * (which needs the reflect-metadata polyfill loaded first): nothing is
 * committed and no openssl binary is needed.
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";

export interface Certificates {
  /** The CA's certificate (PEM file path). */
  ca: string;
  /** The server's certificate and key, for localhost / 127.0.0.1. */
  cert: string;
  key: string;
  /** A client certificate and key signed by the same CA, for mutual TLS. */
  clientCert: string;
  clientKey: string;
}

const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

async function pkcs8Pem(crypto: Crypto, key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", key)).toString("base64");
  return `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)!.join("\n")}\n-----END PRIVATE KEY-----\n`;
}

/** A CA, a server certificate and a client certificate, made with WebCrypto, written to `dir`. */
export async function makeCertificates(dir: string): Promise<Certificates> {
  const crypto = webcrypto as unknown as Crypto;
  x509.cryptoProvider.set(crypto);
  const notBefore = new Date(Date.now() - 5 * 60_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const caKeys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=clipdb test CA",
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leaf = async (serialNumber: string, subject: string, extensions: x509.Extension[]) => {
    const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber,
      subject,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: alg,
      extensions: [
        ...extensions,
        new x509.BasicConstraintsExtension(false, undefined, true),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
    return { cert: cert.toString("pem"), key: await pkcs8Pem(crypto, keys.privateKey) };
  };
  const server = await leaf("02", "CN=localhost", [
    new x509.SubjectAlternativeNameExtension([
      { type: "dns", value: "localhost" },
      { type: "ip", value: "127.0.0.1" },
    ]),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
  ]);
  const client = await leaf("03", "CN=clipdb test client", [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])]);
  const paths: Certificates = {
    ca: join(dir, "ca.pem"),
    cert: join(dir, "server.pem"),
    key: join(dir, "server.key"),
    clientCert: join(dir, "client.pem"),
    clientKey: join(dir, "client.key"),
  };
  writeFileSync(paths.ca, ca.toString("pem"));
  writeFileSync(paths.cert, server.cert);
  writeFileSync(paths.key, server.key);
  writeFileSync(paths.clientCert, client.cert);
  writeFileSync(paths.clientKey, client.key);
  return paths;
}
