package io.clipdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Retries with backoff, against a loopback port where nothing listens. */
class RetryTest {
  /** Counts call attempts as they leave the client, and as they end. */
  private static final class Attempts implements ClientInterceptor {
    final AtomicInteger count = new AtomicInteger();
    final AtomicInteger ended = new AtomicInteger();

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method,
        CallOptions options, Channel next) {
      count.incrementAndGet();
      return new ForwardingClientCall.SimpleForwardingClientCall<Q, R>(
          next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<R>(
              listener) {
            @Override
            public void onClose(Status status, Metadata trailers) {
              ended.incrementAndGet();
              super.onClose(status, trailers);
            }
          }, headers);
        }
      };
    }
  }

  private static String closedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return "127.0.0.1:" + s.getLocalPort();   // closed again when the test connects
    }
  }

  private static final RetryPolicy FAST = RetryPolicy.builder().maxAttempts(3)
      .initialBackoff(Duration.ofMillis(10)).maxBackoff(Duration.ofMillis(20)).build();

  @Test
  void idempotentCallsAreRetriedThenGiveUp() throws IOException {
    Attempts attempts = new Attempts();
    try (ClipdbClient db = ClipdbClient.builder().address(closedPort()).retryPolicy(FAST)
        .intercept(attempts).timeout(Duration.ofSeconds(5)).build()) {
      UnavailableException refused = assertThrows(UnavailableException.class, db::listCollections);
      assertEquals(3, attempts.count.get());
      // says why: grpc's "io exception" alone would not
      assertTrue(refused.getMessage().contains("refused"), refused.getMessage());

      attempts.count.set(0);
      CompletionException e = assertThrows(CompletionException.class,
          () -> db.countAsync("c", null).join());
      assertInstanceOf(UnavailableException.class, e.getCause());
      assertEquals(3, attempts.count.get());

      // creating a collection is not idempotent: one attempt
      attempts.count.set(0);
      assertThrows(UnavailableException.class, () -> db.createCollection("c", 2));
      assertEquals(1, attempts.count.get());
    }
  }

  @Test
  void noRetriesWhenSwitchedOff() throws IOException {
    Attempts attempts = new Attempts();
    try (ClipdbClient db = ClipdbClient.builder().address(closedPort())
        .retryPolicy(RetryPolicy.none()).intercept(attempts).build()) {
      assertThrows(UnavailableException.class, db::listCollections);
      assertEquals(1, attempts.count.get());
    }
  }

  @Test
  void closingFailsCallsWaitingToBeRetried() throws IOException, InterruptedException {
    RetryPolicy slow = RetryPolicy.builder().initialBackoff(Duration.ofMinutes(10))
        .maxBackoff(Duration.ofMinutes(10)).build();
    Attempts attempts = new Attempts();
    ClipdbClient db = ClipdbClient.builder().address(closedPort()).retryPolicy(slow)
        .intercept(attempts).build();
    CompletableFuture<Long> count = db.countAsync("c", null);
    // the first attempt fails at once; the retry would wait ten minutes
    while (attempts.ended.get() < 1) {
      Thread.onSpinWait();
    }
    Thread.sleep(200);   // for the retry to be scheduled
    db.close();
    assertEquals(1, attempts.count.get());
    CompletionException e = assertThrows(CompletionException.class, count::join);
    assertInstanceOf(UnavailableException.class, e.getCause());
  }

  @Test
  void policyDelays() {
    assertNotNull(FAST.delayBeforeRetry(0, Status.Code.UNAVAILABLE));
    assertNotNull(FAST.delayBeforeRetry(1, Status.Code.RESOURCE_EXHAUSTED));
    assertNull(FAST.delayBeforeRetry(2, Status.Code.UNAVAILABLE));
    assertNull(FAST.delayBeforeRetry(0, Status.Code.INVALID_ARGUMENT));
    Duration d = RetryPolicy.defaults().delayBeforeRetry(3, Status.Code.UNAVAILABLE);
    // 100 ms * 2^3 = 800 ms, times a jitter factor in [0.5, 1)
    assertEquals(true, d.toMillis() >= 400 && d.toMillis() < 800, d.toString());
  }
}
