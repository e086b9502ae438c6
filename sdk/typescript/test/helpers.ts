/**
 * Runs the real clipdb server binary on loopback ports for the tests.
 *
 * The binary is $CLIPDB_BIN, or target/debug/clipdb of this checkout
 * (`cargo build --bin clipdb`; sdk/typescript/test.sh says so when it is missing).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

// .test-build/test/helpers.js -> the repository root
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

export function clipdbBin(): string {
  const path = process.env.CLIPDB_BIN || join(root, "target", "debug", "clipdb");
  if (!existsSync(path)) {
    throw new Error(`no clipdb binary at ${path}; build it with: cargo build --bin clipdb (or set CLIPDB_BIN)`);
  }
  return path;
}

const tempDirs: string[] = [];
// removed when this test file's process ends, unless a test failed (then the
// server logs in them are worth reading)
process.on("exit", (code) => {
  if (code === 0 && !process.exitCode) for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `clipdb-ts-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export interface Server {
  /** "127.0.0.1:PORT" */
  address: string;
  dir: string;
  stop(): Promise<void>;
}

/** Starts `clipdb serve` on port 0 with a fresh data dir and waits for "clipdb listening on ADDR". */
export async function startServer(name: string, args: string[] = []): Promise<Server> {
  const dir = tempDir(name);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CLIPDB_")));
  const log = join(dir, "server.log");
  const proc: ChildProcess = spawn(
    clipdbBin(),
    ["serve", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--data-dir", join(dir, "data"), ...args],
    { env, stdio: ["ignore", "pipe", openSync(log, "w")] },
  );
  const exited = new Promise<void>((done) => proc.once("exit", () => done()));
  const address = await new Promise<string>((found, fail) => {
    const timer = setTimeout(() => fail(new Error(`clipdb did not say where it listens within 60 s; see ${log}`)), 60_000);
    const lines = createInterface({ input: proc.stdout! });
    lines.on("line", (line) => {
      if (line.startsWith("clipdb listening on ")) {
        clearTimeout(timer);
        found(line.trim().split(/\s+/).pop()!);
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`clipdb serve exited (${code}): see ${log}`));
    });
  });
  proc.stdout!.resume();
  return {
    address,
    dir,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** `clipdb demo-data`: `count` images of coloured shapes with captions, COCO layout (captions.json, images/). */
export function demoData(count = 20): string {
  const out = tempDir("shapes");
  execFileSync(clipdbBin(), ["demo-data", "--out", out, "--count", String(count)], { stdio: "ignore" });
  return out;
}

export interface DemoImage {
  id: number;
  path: string;
  captions: string[];
  colour: string;
}

interface CocoFile {
  images: { id: number; file_name: string; scene: { objects: { colour: string }[] } }[];
  annotations: { image_id: number; caption: string }[];
}

export function loadDemo(dir: string): DemoImage[] {
  const coco = JSON.parse(readFileSync(join(dir, "captions.json"), "utf8")) as CocoFile;
  return coco.images.map((im) => ({
    id: im.id,
    path: join(dir, "images", im.file_name),
    captions: coco.annotations.filter((a) => a.image_id === im.id).map((a) => a.caption),
    colour: im.scene.objects[0]!.colour,
  }));
}

let n = 0;
/** A fresh collection name per test. */
export function uniqueName(): string {
  return `t${process.pid}_${++n}`;
}
