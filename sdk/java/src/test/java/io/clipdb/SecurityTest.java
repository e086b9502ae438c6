package io.clipdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** API keys and TLS. */
class SecurityTest {
  private static ClipdbClient.Builder client(String address) {
    return ClipdbClient.builder().address(address).timeout(Duration.ofSeconds(30));
  }

  @Test
  void apiKeys() {
    String address = ClipdbServer.keyed();
    String name = ClipdbServer.name();
    try (ClipdbClient anonymous = client(address).build()) {
      assertThrows(UnauthenticatedException.class, anonymous::listCollections);
    }
    try (ClipdbClient wrong = client(address).apiKey("wrong").build()) {
      assertThrows(UnauthenticatedException.class, wrong::listCollections);
    }
    try (ClipdbClient writer = client(address).apiKey("write-key").build()) {
      writer.createCollection(name, 2);
      assertEquals(1, writer.upsert(name, List.of(Point.of("a").vector(1, 0))));
    }
    try (ClipdbClient reader = client(address).apiKey("read-key").build()) {
      assertEquals(List.of("a"), reader.search(name, Search.byVector(1, 0)).stream()
          .map(Hit::id).collect(Collectors.toList()));
      assertEquals(1, reader.count(name));
      assertThrows(PermissionDeniedException.class,
          () -> reader.upsert(name, List.of(Point.of("b").vector(0, 1))));
      assertThrows(PermissionDeniedException.class, () -> reader.deleteCollection(name));
    }
  }

  @Test
  void tlsWithACustomCa() throws IOException {
    String address = ClipdbServer.tls();
    Certificates certs = ClipdbServer.certificates();
    String name = ClipdbServer.name();
    try (ClipdbClient db = client(address).trustedCertificates(Files.readAllBytes(certs.ca))
        .build()) {
      db.createCollection(name, 2);
      assertEquals(1, db.upsert(name, List.of(Point.of("a").vector(1, 0))));
    }
    // the CA as a file, and https:// means TLS
    try (ClipdbClient db = client("https://" + address).trustedCertificates(certs.ca).build()) {
      assertEquals(1, db.count(name));
    }
    // without the CA the server's certificate is not trusted
    try (ClipdbClient db = client(address).tls(true).retryPolicy(RetryPolicy.none()).build()) {
      assertThrows(UnavailableException.class, () -> db.count(name));
    }
    // and plaintext against the TLS port fails
    try (ClipdbClient db = client(address).retryPolicy(RetryPolicy.none()).build()) {
      assertThrows(ClipdbException.class, () -> db.count(name));
    }
  }

  @Test
  void mutualTls() throws IOException {
    String address = ClipdbServer.mutualTls();
    Certificates certs = ClipdbServer.certificates();
    try (ClipdbClient db = client(address).trustedCertificates(certs.ca)
        .clientCertificate(Files.readAllBytes(certs.clientCert), Files.readAllBytes(certs.clientKey))
        .build()) {
      assertEquals(List.of(), db.listCollections());
    }
    // the server refuses a client without a certificate
    try (ClipdbClient db = client(address).trustedCertificates(certs.ca)
        .retryPolicy(RetryPolicy.none()).build()) {
      assertThrows(UnavailableException.class, db::listCollections);
    }
  }
}
