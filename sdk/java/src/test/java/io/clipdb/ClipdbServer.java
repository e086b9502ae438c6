package io.clipdb;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The real clipdb server binary on loopback ports, as the Python SDK's tests
 * run it. The binary is -Dclipdb.bin, else $CLIPDB_BIN, else
 * target/debug/clipdb of this checkout. Servers are started once per test
 * JVM, on first use, and stopped (their data deleted) when it exits.
 */
final class ClipdbServer {
  private static final Path WORK = createWorkDir();
  private static final AtomicInteger NAMES = new AtomicInteger();
  private static ClipdbServer demo;
  private static ClipdbServer keyed;
  private static ClipdbServer tls;
  private static ClipdbServer mutualTls;
  private static Certificates certificates;
  private static Path demoData;

  final String address;
  private final Process process;

  private ClipdbServer(String name, List<String> args) {
    Path dir = WORK.resolve(name);
    List<String> cmd = new ArrayList<>(List.of(binary().toString(), "serve",
        "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
        "--data-dir", dir.resolve("data").toString()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectError(WORK.resolve(name + ".log").toFile());
    // the server reads its options from CLIPDB_* variables too: keep ours out
    pb.environment().keySet().removeIf(k -> k.startsWith("CLIPDB_"));
    try {
      Files.createDirectories(dir);
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + cmd, e);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(this::stop));
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread pump = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          lines.add(line);
        }
      } catch (IOException ignored) {
        // the process is gone
      }
      lines.add("\0eof");
    }, "clipdb-" + name + "-stdout");
    pump.setDaemon(true);
    pump.start();
    String found = null;
    try {
      while (found == null) {
        String line = lines.poll(60, TimeUnit.SECONDS);
        if (line == null || line.equals("\0eof")) {
          stop();
          throw new IllegalStateException((line == null
              ? "clipdb did not say where it listens within 60 s"
              : "clipdb serve exited") + "; its log:\n" + tail(WORK.resolve(name + ".log")));
        }
        if (line.startsWith("clipdb listening on ")) {
          String[] words = line.trim().split("\\s+");
          found = words[words.length - 1];
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stop();
      throw new IllegalStateException("interrupted while starting clipdb", e);
    }
    address = found;
  }

  private void stop() {
    if (process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor();
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
      }
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  static Path binary() {
    String path = System.getProperty("clipdb.bin");
    if (path == null || path.isEmpty()) {
      path = System.getenv("CLIPDB_BIN");
    }
    if (path == null || path.isEmpty()) {
      String root = System.getProperty("clipdb.repoRoot", "../..");
      path = Paths.get(root, "target", "debug", "clipdb").toString();
    }
    Path bin = Paths.get(path).toAbsolutePath().normalize();
    if (!Files.isExecutable(bin)) {
      throw new IllegalStateException(
          "no clipdb binary at " + bin + "; build it with: cargo build --bin clipdb"
              + " (or set CLIPDB_BIN)");
    }
    return bin;
  }

  /** A server with the bundled demo CLIP model. */
  static synchronized String demo() {
    if (demo == null) {
      demo = new ClipdbServer("demo", List.of());
    }
    return demo.address;
  }

  /** A vector-only server with a read-write key "write-key" and a read-only key "read-key". */
  static synchronized String keyed() {
    if (keyed == null) {
      keyed = new ClipdbServer("keyed", List.of("--model", "none",
          "--api-key", "write-key", "--read-only-api-key", "read-key"));
    }
    return keyed.address;
  }

  /** A vector-only TLS server whose certificate {@link #certificates()} signed. */
  static synchronized String tls() {
    if (tls == null) {
      Certificates c = certificates();
      tls = new ClipdbServer("tls", List.of("--model", "none",
          "--tls-cert", c.serverCert.toString(), "--tls-key", c.serverKey.toString()));
    }
    return tls.address;
  }

  /** A vector-only TLS server that requires client certificates signed by the test CA. */
  static synchronized String mutualTls() {
    if (mutualTls == null) {
      Certificates c = certificates();
      mutualTls = new ClipdbServer("mtls", List.of("--model", "none",
          "--tls-cert", c.serverCert.toString(), "--tls-key", c.serverKey.toString(),
          "--tls-client-ca", c.ca.toString()));
    }
    return mutualTls.address;
  }

  static synchronized Certificates certificates() {
    if (certificates == null) {
      certificates = Certificates.create(WORK.resolve("certs"));
    }
    return certificates;
  }

  /** 20 images of coloured shapes and their captions (COCO layout), made by `clipdb demo-data`. */
  static synchronized Path demoData() {
    if (demoData == null) {
      Path out = WORK.resolve("shapes");
      try {
        Process p = new ProcessBuilder(binary().toString(), "demo-data", "--out", out.toString(),
            "--count", "20").redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        if (p.waitFor() != 0) {
          throw new IllegalStateException("clipdb demo-data failed with exit code " + p.exitValue());
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      demoData = out;
    }
    return demoData;
  }

  /** A fresh collection name. */
  static String name() {
    return "j" + ProcessHandle.current().pid() + "_" + NAMES.incrementAndGet();
  }

  private static Path createWorkDir() {
    try {
      Path dir = Files.createTempDirectory("clipdb-java-test");
      Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // best effort: it is a temporary directory
    }
  }
}
