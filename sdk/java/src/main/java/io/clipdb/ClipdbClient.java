package io.clipdb;

import com.google.protobuf.ByteString;
import io.clipdb.v1.CollectionInfo;
import io.clipdb.v1.CollectionsGrpc;
import io.clipdb.v1.CountRequest;
import io.clipdb.v1.CreatePayloadIndexRequest;
import io.clipdb.v1.CreateSnapshotRequest;
import io.clipdb.v1.DeleteCollectionRequest;
import io.clipdb.v1.DeletePayloadIndexRequest;
import io.clipdb.v1.DeletePayloadKeysRequest;
import io.clipdb.v1.DeleteRequest;
import io.clipdb.v1.DeleteSnapshotRequest;
import io.clipdb.v1.EmbedImageRequest;
import io.clipdb.v1.EmbedResponse;
import io.clipdb.v1.EmbedTextRequest;
import io.clipdb.v1.EmbeddingsGrpc;
import io.clipdb.v1.GetCollectionRequest;
import io.clipdb.v1.GetRequest;
import io.clipdb.v1.GetResponse;
import io.clipdb.v1.ListCollectionsRequest;
import io.clipdb.v1.ListCollectionsResponse;
import io.clipdb.v1.ListSnapshotsRequest;
import io.clipdb.v1.PayloadIndexInfo;
import io.clipdb.v1.PayloadIndexType;
import io.clipdb.v1.PointsGrpc;
import io.clipdb.v1.ScrollRequest;
import io.clipdb.v1.ScrollResponse;
import io.clipdb.v1.SearchBatchRequest;
import io.clipdb.v1.SearchBatchResponse;
import io.clipdb.v1.SearchResponse;
import io.clipdb.v1.SetPayloadRequest;
import io.clipdb.v1.SnapshotInfo;
import io.clipdb.v1.UpsertRequest;
import io.clipdb.v1.UpsertResponse;
import io.clipdb.v1.Vector;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongConsumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A connection to a clipdb server over gRPC. Thread-safe; make one per
 * server and share it, and {@link #close()} it when done.
 *
 * <pre>{@code
 * try (ClipdbClient db = ClipdbClient.builder().address("127.0.0.1:50051").build()) {
 *   db.createCollection("demo", 4);
 *   db.upsert("demo", List.of(Point.of("a").vector(1, 0, 0, 0).payload(Map.of("colour", "red"))));
 *   List<Hit> hits = db.search("demo", Search.byVector(1, 0.2f, 0, 0).limit(5));
 * }
 * }</pre>
 *
 * <p>Every call blocks until the server answers; the {@code ...Async}
 * variants return a {@link CompletableFuture} instead, completed on a gRPC
 * thread. A failed call throws (or completes the future with) a
 * {@link ClipdbException} subclass per gRPC status, carrying the server's
 * message. Idempotent calls are retried per the {@link RetryPolicy}.
 * Argument mistakes caught before sending throw
 * {@link IllegalArgumentException}.
 */
public final class ClipdbClient implements AutoCloseable {
  /** The address a builder starts with. */
  public static final String DEFAULT_ADDRESS = "127.0.0.1:50051";
  /** Points per Upsert request unless told otherwise. */
  public static final int DEFAULT_BATCH_SIZE = 256;
  // split upserts so that one message stays well under the server's default limit (64 MiB)
  private static final int BATCH_BYTES = 8 << 20;
  private static final Metadata.Key<String> API_KEY =
      Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);

  private final ManagedChannel managedChannel;
  private final Channel channel;
  private final Duration timeout;
  private final RetryPolicy retry;
  private final ScheduledExecutorService retryTimer;
  // async calls whose retry is scheduled, with the error of their last attempt
  private final Map<CompletableFuture<?>, Throwable> waitingToRetry = new ConcurrentHashMap<>();

  private ClipdbClient(Builder b) {
    String target = b.address;
    boolean tls = b.tls || b.trustedCertificates != null || b.clientCertificateChain != null;
    if (target.startsWith("https://")) {
      target = target.substring("https://".length());
      tls = true;
    } else if (target.startsWith("http://")) {
      target = target.substring("http://".length());
    }
    while (target.endsWith("/")) {
      target = target.substring(0, target.length() - 1);
    }
    ChannelCredentials credentials;
    if (tls) {
      TlsChannelCredentials.Builder creds = TlsChannelCredentials.newBuilder();
      try {
        if (b.trustedCertificates != null) {
          creds.trustManager(new ByteArrayInputStream(b.trustedCertificates));
        }
        if (b.clientCertificateChain != null) {
          creds.keyManager(new ByteArrayInputStream(b.clientCertificateChain),
              new ByteArrayInputStream(b.clientPrivateKey));
        }
      } catch (IOException e) {
        throw new IllegalArgumentException("bad PEM certificate or key: " + e.getMessage(), e);
      }
      credentials = creds.build();
    } else {
      credentials = InsecureChannelCredentials.create();
    }
    this.managedChannel = Grpc.newChannelBuilder(target, credentials)
        .maxInboundMessageSize(Integer.MAX_VALUE)
        .build();
    List<ClientInterceptor> interceptors = new ArrayList<>(b.interceptors);
    if (b.apiKey != null) {
      Metadata headers = new Metadata();
      headers.put(API_KEY, b.apiKey);
      interceptors.add(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    this.channel = ClientInterceptors.intercept(managedChannel, interceptors);
    this.timeout = b.timeout;
    this.retry = b.retry;
    this.retryTimer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "clipdb-retry");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * A builder for a client of {@value #DEFAULT_ADDRESS}, plaintext, no API key.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Closes the connection: calls in flight get up to 5 seconds to finish, then
   * are cancelled; calls waiting to be retried, and new calls, fail with
   * {@link UnavailableException}.
   */
  @Override
  public void close() {
    managedChannel.shutdown();
    retryTimer.shutdownNow();
    // calls waiting to be retried fail now instead of never completing
    for (CompletableFuture<?> result : waitingToRetry.keySet()) {
      Throwable last = waitingToRetry.remove(result);
      if (last != null) {
        result.completeExceptionally(ClipdbException.of(Status.UNAVAILABLE.withDescription(
            "the client was closed while the call waited to be retried").withCause(last), last));
      }
    }
    try {
      if (!managedChannel.awaitTermination(5, TimeUnit.SECONDS)) {
        managedChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      managedChannel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  // ---- plumbing -------------------------------------------------------------

  private CallOptions options() {
    CallOptions o = CallOptions.DEFAULT;
    return timeout == null ? o : o.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  private <Q, R> R call(MethodDescriptor<Q, R> method, Q request, boolean idempotent) {
    for (int attempt = 0; ; attempt++) {
      try {
        return ClientCalls.blockingUnaryCall(channel, method, options(), request);
      } catch (StatusRuntimeException e) {
        Duration delay = idempotent ? retry.delayBeforeRetry(attempt, e.getStatus().getCode()) : null;
        if (delay == null || managedChannel.isShutdown()) {
          throw ClipdbException.of(e.getStatus(), e);
        }
        try {
          Thread.sleep(delay.toMillis());
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw ClipdbException.of(Status.CANCELLED.withDescription("interrupted while "
              + "waiting to retry " + method.getBareMethodName()).withCause(e), ie);
        }
      }
    }
  }

  private <Q, R, T> CompletableFuture<T> callAsync(MethodDescriptor<Q, R> method, Q request,
      boolean idempotent, Function<R, T> convert) {
    CompletableFuture<R> result = new CompletableFuture<>();
    attempt(method, request, idempotent, 0, result);
    return result.thenApply(convert);
  }

  private <Q, R> void attempt(MethodDescriptor<Q, R> method, Q request, boolean idempotent,
      int attempt, CompletableFuture<R> result) {
    ClientCalls.asyncUnaryCall(channel.newCall(method, options()), request,
        new StreamObserver<R>() {
          private R value;

          @Override
          public void onNext(R v) {
            value = v;
          }

          @Override
          public void onError(Throwable t) {
            Status status = Status.fromThrowable(t);
            Duration delay = idempotent ? retry.delayBeforeRetry(attempt, status.getCode()) : null;
            if (delay == null || retryTimer.isShutdown()) {
              result.completeExceptionally(ClipdbException.of(status, t));
              return;
            }
            waitingToRetry.put(result, t);
            try {
              retryTimer.schedule(() -> {
                if (waitingToRetry.remove(result) != null) {
                  attempt(method, request, true, attempt + 1, result);
                }
              }, delay.toNanos(), TimeUnit.NANOSECONDS);
            } catch (RuntimeException closed) {
              if (waitingToRetry.remove(result) != null) {
                result.completeExceptionally(ClipdbException.of(status, t));
              }
            }
          }

          @Override
          public void onCompleted() {
            result.complete(value);
          }
        });
  }

  // ---- collections ----------------------------------------------------------

  /**
   * Creates a collection. Not retried.
   *
   * @param config what to create
   * @return the new collection's description
   * @throws AlreadyExistsException if the name is taken
   */
  public CollectionInfo createCollection(CollectionConfig config) {
    return call(CollectionsGrpc.getCreateCollectionMethod(), config.toProto(), false);
  }

  /**
   * Creates a collection of raw vectors with the default settings (cosine).
   *
   * @param name the name, [A-Za-z0-9_-]{1,64}
   * @param dimension the vectors' dimension
   * @return the new collection's description
   */
  public CollectionInfo createCollection(String name, int dimension) {
    return createCollection(CollectionConfig.vectors(name, dimension));
  }

  /**
   * Creates a CLIP collection: the server embeds text and images.
   *
   * @param name the name, [A-Za-z0-9_-]{1,64}
   * @return the new collection's description
   */
  public CollectionInfo createCollection(String name) {
    return createCollection(CollectionConfig.clip(name));
  }

  /**
   * {@link #createCollection(CollectionConfig)}, asynchronously.
   *
   * @param config what to create
   * @return the new collection's description
   */
  public CompletableFuture<CollectionInfo> createCollectionAsync(CollectionConfig config) {
    return callAsync(CollectionsGrpc.getCreateCollectionMethod(), config.toProto(), false,
        Function.identity());
  }

  /**
   * Describes a collection: configuration and statistics.
   *
   * @param name the collection
   * @return its description
   * @throws NotFoundException if there is no such collection
   */
  public CollectionInfo getCollection(String name) {
    return call(CollectionsGrpc.getGetCollectionMethod(),
        GetCollectionRequest.newBuilder().setName(name).build(), true);
  }

  /**
   * {@link #getCollection}, asynchronously.
   *
   * @param name the collection
   * @return its description
   */
  public CompletableFuture<CollectionInfo> getCollectionAsync(String name) {
    return callAsync(CollectionsGrpc.getGetCollectionMethod(),
        GetCollectionRequest.newBuilder().setName(name).build(), true, Function.identity());
  }

  /**
   * Every collection, ordered by name.
   *
   * @return their descriptions
   */
  public List<CollectionInfo> listCollections() {
    return call(CollectionsGrpc.getListCollectionsMethod(),
        ListCollectionsRequest.getDefaultInstance(), true).getCollectionsList();
  }

  /**
   * {@link #listCollections}, asynchronously.
   *
   * @return their descriptions
   */
  public CompletableFuture<List<CollectionInfo>> listCollectionsAsync() {
    return callAsync(CollectionsGrpc.getListCollectionsMethod(),
        ListCollectionsRequest.getDefaultInstance(), true,
        ListCollectionsResponse::getCollectionsList);
  }

  /**
   * Whether a collection of this name exists.
   *
   * @param name the collection
   * @return true if it exists
   */
  public boolean collectionExists(String name) {
    return listCollections().stream().anyMatch(c -> c.getName().equals(name));
  }

  /**
   * Drops a collection and all its data (its snapshots are kept). Not retried.
   *
   * @param name the collection
   * @throws NotFoundException if there is no such collection
   */
  public void deleteCollection(String name) {
    call(CollectionsGrpc.getDeleteCollectionMethod(),
        DeleteCollectionRequest.newBuilder().setName(name).build(), false);
  }

  /**
   * {@link #deleteCollection}, asynchronously.
   *
   * @param name the collection
   * @return completes when it is dropped
   */
  public CompletableFuture<Void> deleteCollectionAsync(String name) {
    return callAsync(CollectionsGrpc.getDeleteCollectionMethod(),
        DeleteCollectionRequest.newBuilder().setName(name).build(), false, r -> null);
  }

  /**
   * Indexes a payload field for faster filters; built in the background.
   *
   * @param collection the collection
   * @param key the payload key, dotted for nested objects
   * @param type the values' type
   * @return the index's description (state BUILDING, then READY)
   */
  public PayloadIndexInfo createPayloadIndex(String collection, String key,
      PayloadIndexType type) {
    return call(CollectionsGrpc.getCreatePayloadIndexMethod(), CreatePayloadIndexRequest
        .newBuilder().setCollection(collection).setKey(key).setType(type).build(), true);
  }

  /**
   * Drops a payload index. Not retried.
   *
   * @param collection the collection
   * @param key the indexed key
   * @throws NotFoundException if there is no index on that key
   */
  public void deletePayloadIndex(String collection, String key) {
    call(CollectionsGrpc.getDeletePayloadIndexMethod(), DeletePayloadIndexRequest.newBuilder()
        .setCollection(collection).setKey(key).build(), false);
  }

  /**
   * Writes a snapshot (backup) of a collection on the server. Not retried.
   *
   * @param collection the collection
   * @return the snapshot's description
   */
  public SnapshotInfo createSnapshot(String collection) {
    return call(CollectionsGrpc.getCreateSnapshotMethod(),
        CreateSnapshotRequest.newBuilder().setCollection(collection).build(), false);
  }

  /**
   * The snapshots of a collection (even one since dropped), oldest first.
   *
   * @param collection the collection
   * @return their descriptions
   */
  public List<SnapshotInfo> listSnapshots(String collection) {
    return call(CollectionsGrpc.getListSnapshotsMethod(),
        ListSnapshotsRequest.newBuilder().setCollection(collection).build(), true)
        .getSnapshotsList();
  }

  /**
   * The snapshots of every collection, oldest first.
   *
   * @return their descriptions
   */
  public List<SnapshotInfo> listSnapshots() {
    return listSnapshots("");
  }

  /**
   * Deletes a snapshot file. Not retried.
   *
   * @param collection the collection
   * @param name the snapshot's name
   * @throws NotFoundException if there is no such snapshot
   */
  public void deleteSnapshot(String collection, String name) {
    call(CollectionsGrpc.getDeleteSnapshotMethod(), DeleteSnapshotRequest.newBuilder()
        .setCollection(collection).setName(name).build(), false);
  }

  // ---- points ---------------------------------------------------------------

  /**
   * Inserts or replaces points, {@value #DEFAULT_BATCH_SIZE} per request.
   *
   * @param collection the collection
   * @param points the points
   * @return points written
   * @see #upsert(String, Iterable, int)
   */
  public long upsert(String collection, Iterable<Point> points) {
    return upsert(collection, points, DEFAULT_BATCH_SIZE);
  }

  /**
   * Inserts or replaces points, in requests of at most {@code batchSize}
   * points (and about 8 MiB). Each request is all or nothing and durable when
   * it returns; if one fails, the batches before it stay stored.
   *
   * @param collection the collection
   * @param points the points, read lazily batch by batch
   * @param batchSize points per request
   * @return points written
   * @throws InvalidArgumentException for a bad point (the message names its id)
   */
  public long upsert(String collection, Iterable<Point> points, int batchSize) {
    long written = 0;
    for (Iterator<UpsertRequest> it = batches(collection, points.iterator(), batchSize);
        it.hasNext(); ) {
      written += call(PointsGrpc.getUpsertMethod(), it.next(), true).getUpserted();
    }
    return written;
  }

  /**
   * {@link #upsert(String, Iterable)}, asynchronously: the batches are sent one
   * after another.
   *
   * @param collection the collection
   * @param points the points
   * @return points written
   */
  public CompletableFuture<Long> upsertAsync(String collection, Iterable<Point> points) {
    CompletableFuture<Long> total = CompletableFuture.completedFuture(0L);
    List<UpsertRequest> requests = new ArrayList<>();
    batches(collection, points.iterator(), DEFAULT_BATCH_SIZE).forEachRemaining(requests::add);
    for (UpsertRequest req : requests) {
      total = total.thenCompose(n -> callAsync(PointsGrpc.getUpsertMethod(), req, true,
          r -> n + r.getUpserted()));
    }
    return total;
  }

  /**
   * Bulk load over one streaming call: batches of {@code batchSize} points are
   * applied and made durable in order; {@code progress} (if not null) gets the
   * number of points sent after each batch. On an error the batches before the
   * failing one stay stored. Not retried.
   *
   * @param collection the collection
   * @param points the points, read lazily (any size)
   * @param batchSize points per message
   * @param progress called with the points sent so far, or null
   * @return points written
   */
  public long upsertStream(String collection, Iterable<Point> points, int batchSize,
      LongConsumer progress) {
    Object ready = new Object();
    CompletableFuture<UpsertResponse> done = new CompletableFuture<>();
    ClientResponseObserver<UpsertRequest, UpsertResponse> responses =
        new ClientResponseObserver<UpsertRequest, UpsertResponse>() {
          private UpsertResponse value;

          @Override
          public void beforeStart(ClientCallStreamObserver<UpsertRequest> requests) {
            requests.setOnReadyHandler(() -> {
              synchronized (ready) {
                ready.notifyAll();
              }
            });
          }

          @Override
          public void onNext(UpsertResponse v) {
            value = v;
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
            synchronized (ready) {
              ready.notifyAll();
            }
          }

          @Override
          public void onCompleted() {
            done.complete(value);
          }
        };
    ClientCallStreamObserver<UpsertRequest> requests =
        (ClientCallStreamObserver<UpsertRequest>) ClientCalls.asyncClientStreamingCall(
            channel.newCall(PointsGrpc.getUpsertStreamMethod(), options()), responses);
    long sent = 0;
    try {
      for (Iterator<UpsertRequest> it = batches(collection, points.iterator(), batchSize);
          it.hasNext() && !done.isDone(); ) {
        UpsertRequest batch = it.next();
        // wait for flow control instead of buffering the whole stream in memory
        synchronized (ready) {
          while (!requests.isReady() && !done.isDone()) {
            ready.wait(1000);
          }
        }
        if (done.isDone()) {
          break;
        }
        requests.onNext(batch);
        sent += batch.getPointsCount();
        if (progress != null) {
          progress.accept(sent);
        }
      }
      requests.onCompleted();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      requests.cancel("interrupted", e);
      throw ClipdbException.of(Status.CANCELLED.withDescription("upsertStream interrupted"), e);
    } catch (RuntimeException e) {
      requests.cancel("the points could not be read or converted", e);
      throw e;
    }
    return await(done).getUpserted();
  }

  private static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ClipdbException.of(Status.CANCELLED.withDescription("interrupted"), e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw ClipdbException.from(e.getCause());
    }
  }

  private static Iterator<UpsertRequest> batches(String collection, Iterator<Point> points,
      int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
    }
    return new Iterator<UpsertRequest>() {
      private io.clipdb.v1.Point carry;

      @Override
      public boolean hasNext() {
        return carry != null || points.hasNext();
      }

      @Override
      public UpsertRequest next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        UpsertRequest.Builder req = UpsertRequest.newBuilder().setCollection(collection);
        long bytes = 0;
        while (req.getPointsCount() < batchSize && (carry != null || points.hasNext())) {
          io.clipdb.v1.Point p = carry != null ? carry : points.next().toProto();
          carry = null;
          int size = p.getSerializedSize();
          if (req.getPointsCount() > 0 && bytes + size > BATCH_BYTES) {
            carry = p;
            break;
          }
          req.addPoints(p);
          bytes += size;
        }
        return req.build();
      }
    };
  }

  /**
   * The stored points with these ids, in that order; missing ids are left out.
   *
   * @param collection the collection
   * @param ids the ids
   * @param withVector return stored vectors too
   * @return the points found
   */
  public List<Record> get(String collection, Collection<String> ids, boolean withVector) {
    return records(call(PointsGrpc.getGetMethod(), getRequest(collection, ids, withVector), true));
  }

  /**
   * The stored points with these ids (payloads, no vectors).
   *
   * @param collection the collection
   * @param ids the ids
   * @return the points found, in the order of {@code ids}
   */
  public List<Record> get(String collection, String... ids) {
    return get(collection, List.of(ids), false);
  }

  /**
   * {@link #get(String, Collection, boolean)}, asynchronously.
   *
   * @param collection the collection
   * @param ids the ids
   * @param withVector return stored vectors too
   * @return the points found
   */
  public CompletableFuture<List<Record>> getAsync(String collection, Collection<String> ids,
      boolean withVector) {
    return callAsync(PointsGrpc.getGetMethod(), getRequest(collection, ids, withVector), true,
        ClipdbClient::records);
  }

  private static GetRequest getRequest(String collection, Collection<String> ids,
      boolean withVector) {
    return GetRequest.newBuilder().setCollection(collection).addAllIds(ids)
        .setWithVector(withVector).build();
  }

  private static List<Record> records(GetResponse r) {
    return r.getPointsList().stream().map(Record::fromProto)
        .collect(Collectors.collectingAndThen(Collectors.toList(), Collections::unmodifiableList));
  }

  /**
   * Deletes points by id; missing ids are ignored.
   *
   * @param collection the collection
   * @param ids the ids
   * @return points that existed and were deleted
   */
  public long delete(String collection, Collection<String> ids) {
    return call(PointsGrpc.getDeleteMethod(),
        DeleteRequest.newBuilder().setCollection(collection).addAllIds(ids).build(), true)
        .getDeleted();
  }

  /**
   * Deletes every point matching a filter, atomically.
   *
   * @param collection the collection
   * @param filter the filter
   * @return points deleted
   */
  public long delete(String collection, Filter filter) {
    return call(PointsGrpc.getDeleteMethod(), DeleteRequest.newBuilder()
        .setCollection(collection).setFilter(filter.toProto()).build(), true).getDeleted();
  }

  /**
   * {@link #delete(String, Collection)}, asynchronously.
   *
   * @param collection the collection
   * @param ids the ids
   * @return points deleted
   */
  public CompletableFuture<Long> deleteAsync(String collection, Collection<String> ids) {
    return callAsync(PointsGrpc.getDeleteMethod(),
        DeleteRequest.newBuilder().setCollection(collection).addAllIds(ids).build(), true,
        r -> r.getDeleted());
  }

  /**
   * The number of live points.
   *
   * @param collection the collection
   * @return the count
   */
  public long count(String collection) {
    return call(PointsGrpc.getCountMethod(), countRequest(collection, null), true).getCount();
  }

  /**
   * The number of points matching a filter (exact).
   *
   * @param collection the collection
   * @param filter the filter
   * @return the count
   */
  public long count(String collection, Filter filter) {
    return call(PointsGrpc.getCountMethod(), countRequest(collection, filter), true).getCount();
  }

  /**
   * {@link #count(String, Filter)}, asynchronously.
   *
   * @param collection the collection
   * @param filter the filter, or null for all points
   * @return the count
   */
  public CompletableFuture<Long> countAsync(String collection, Filter filter) {
    return callAsync(PointsGrpc.getCountMethod(), countRequest(collection, filter), true,
        r -> r.getCount());
  }

  private static CountRequest countRequest(String collection, Filter filter) {
    CountRequest.Builder b = CountRequest.newBuilder().setCollection(collection);
    if (filter != null) {
      b.setFilter(filter.toProto());
    }
    return b.build();
  }

  /**
   * Every point (matching {@code filter}, if not null) in id order, with
   * payloads, fetched 100 at a time as the stream is consumed.
   *
   * @param collection the collection
   * @param filter the filter, or null for all points
   * @return a lazy stream of points
   */
  public Stream<Record> scroll(String collection, Filter filter) {
    return scroll(collection, filter, 100, true, false);
  }

  /**
   * Every point (matching {@code filter}, if not null) in id order, fetched
   * {@code pageSize} at a time as the stream is consumed. Every point that
   * exists throughout is returned exactly once. A page that cannot be fetched
   * throws its {@link ClipdbException} from the stream's terminal operation.
   *
   * @param collection the collection
   * @param filter the filter, or null for all points
   * @param pageSize points per request (at most 10000)
   * @param withPayload return payloads
   * @param withVector return stored vectors
   * @return a lazy stream of points
   */
  public Stream<Record> scroll(String collection, Filter filter, int pageSize,
      boolean withPayload, boolean withVector) {
    ScrollRequest.Builder req = ScrollRequest.newBuilder().setCollection(collection)
        .setLimit(pageSize).setWithPayload(withPayload).setWithVector(withVector);
    if (filter != null) {
      req.setFilter(filter.toProto());
    }
    Iterator<Record> pages = new Iterator<Record>() {
      private Iterator<io.clipdb.v1.Point> page = Collections.emptyIterator();
      private boolean last;

      @Override
      public boolean hasNext() {
        while (!page.hasNext() && !last) {
          ScrollResponse r = call(PointsGrpc.getScrollMethod(), req.build(), true);
          page = r.getPointsList().iterator();
          last = r.getNextPageToken().isEmpty();
          req.setPageToken(r.getNextPageToken());
        }
        return page.hasNext();
      }

      @Override
      public Record next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return Record.fromProto(page.next());
      }
    };
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(pages,
        Spliterator.ORDERED | Spliterator.NONNULL), false);
  }

  /**
   * Nearest neighbours, best first.
   *
   * @param collection the collection
   * @param search what to search for, and how
   * @return the hits
   * @throws InvalidArgumentException for a bad query (wrong dimension, limit over 10000)
   * @throws FailedPreconditionException for text or images where no model applies
   */
  public List<Hit> search(String collection, Search search) {
    return hits(call(PointsGrpc.getSearchMethod(), search.toProto(collection), true));
  }

  /**
   * {@link #search}, asynchronously.
   *
   * @param collection the collection
   * @param search what to search for, and how
   * @return the hits
   */
  public CompletableFuture<List<Hit>> searchAsync(String collection, Search search) {
    return callAsync(PointsGrpc.getSearchMethod(), search.toProto(collection), true,
        ClipdbClient::hits);
  }

  /**
   * Many searches of one collection in one call (up to 1024), run
   * concurrently on the server.
   *
   * @param collection the collection
   * @param searches the searches
   * @return one list of hits per search, in order
   */
  public List<List<Hit>> searchBatch(String collection, List<Search> searches) {
    return batchHits(call(PointsGrpc.getSearchBatchMethod(), batch(collection, searches), true));
  }

  /**
   * {@link #searchBatch}, asynchronously.
   *
   * @param collection the collection
   * @param searches the searches
   * @return one list of hits per search, in order
   */
  public CompletableFuture<List<List<Hit>>> searchBatchAsync(String collection,
      List<Search> searches) {
    return callAsync(PointsGrpc.getSearchBatchMethod(), batch(collection, searches), true,
        ClipdbClient::batchHits);
  }

  private static SearchBatchRequest batch(String collection, List<Search> searches) {
    SearchBatchRequest.Builder b = SearchBatchRequest.newBuilder();
    searches.forEach(s -> b.addSearches(s.toProto(collection)));
    return b.build();
  }

  private static List<Hit> hits(SearchResponse r) {
    return r.getHitsList().stream().map(Hit::fromProto)
        .collect(Collectors.collectingAndThen(Collectors.toList(), Collections::unmodifiableList));
  }

  private static List<List<Hit>> batchHits(SearchBatchResponse r) {
    return r.getResultsList().stream().map(ClipdbClient::hits)
        .collect(Collectors.collectingAndThen(Collectors.toList(), Collections::unmodifiableList));
  }

  /**
   * "More like these, less like those", best first.
   *
   * @param collection the collection
   * @param recommend the examples and options
   * @return the hits
   */
  public List<Hit> recommend(String collection, Recommend recommend) {
    return hits(call(PointsGrpc.getRecommendMethod(), recommend.toProto(collection), true));
  }

  /**
   * Merges {@code payload} into the payload of these points (a key given
   * replaces the point's value for it); missing ids are ignored.
   *
   * @param collection the collection
   * @param payload the keys to set
   * @param ids the points
   * @return points updated
   */
  public long setPayload(String collection, Map<String, ?> payload, Collection<String> ids) {
    return setPayload(collection, payload, ids, null, false);
  }

  /**
   * Merges {@code payload} into the payload of every point matching a filter.
   *
   * @param collection the collection
   * @param payload the keys to set
   * @param filter the points
   * @return points updated
   */
  public long setPayload(String collection, Map<String, ?> payload, Filter filter) {
    return setPayload(collection, payload, null, filter, false);
  }

  /**
   * Replaces the whole payload of these points.
   *
   * @param collection the collection
   * @param payload the new payload
   * @param ids the points
   * @return points updated
   */
  public long replacePayload(String collection, Map<String, ?> payload, Collection<String> ids) {
    return setPayload(collection, payload, ids, null, true);
  }

  /**
   * Replaces the whole payload of every point matching a filter.
   *
   * @param collection the collection
   * @param payload the new payload
   * @param filter the points
   * @return points updated
   */
  public long replacePayload(String collection, Map<String, ?> payload, Filter filter) {
    return setPayload(collection, payload, null, filter, true);
  }

  private long setPayload(String collection, Map<String, ?> payload, Collection<String> ids,
      Filter filter, boolean replace) {
    SetPayloadRequest.Builder b = SetPayloadRequest.newBuilder().setCollection(collection)
        .setPayload(Values.toStruct(payload)).setReplace(replace);
    if (ids != null) {
      b.addAllIds(ids);
    } else {
      b.setFilter(filter.toProto());
    }
    return call(PointsGrpc.getSetPayloadMethod(), b.build(), true).getUpdated();
  }

  /**
   * Removes payload keys (top-level or dotted) from these points.
   *
   * @param collection the collection
   * @param keys the keys to remove
   * @param ids the points
   * @return points updated
   */
  public long deletePayloadKeys(String collection, Collection<String> keys,
      Collection<String> ids) {
    return call(PointsGrpc.getDeletePayloadKeysMethod(), DeletePayloadKeysRequest.newBuilder()
        .setCollection(collection).addAllKeys(keys).addAllIds(ids).build(), true).getUpdated();
  }

  /**
   * Removes payload keys from every point matching a filter.
   *
   * @param collection the collection
   * @param keys the keys to remove
   * @param filter the points
   * @return points updated
   */
  public long deletePayloadKeys(String collection, Collection<String> keys, Filter filter) {
    return call(PointsGrpc.getDeletePayloadKeysMethod(), DeletePayloadKeysRequest.newBuilder()
        .setCollection(collection).addAllKeys(keys).setFilter(filter.toProto()).build(), true)
        .getUpdated();
  }

  // ---- embeddings -----------------------------------------------------------

  /**
   * The CLIP embedding of a text (L2-normalised).
   *
   * @param text the text (truncated to the model's context)
   * @return the vector
   * @throws FailedPreconditionException if the server has no model
   */
  public float[] embedText(String text) {
    return embedTexts(List.of(text)).get(0);
  }

  /**
   * The CLIP embeddings of texts, in order.
   *
   * @param texts the texts
   * @return one vector per text
   */
  public List<float[]> embedTexts(List<String> texts) {
    return vectors(call(EmbeddingsGrpc.getEmbedTextMethod(),
        EmbedTextRequest.newBuilder().addAllTexts(texts).build(), true));
  }

  /**
   * {@link #embedTexts}, asynchronously.
   *
   * @param texts the texts
   * @return one vector per text
   */
  public CompletableFuture<List<float[]>> embedTextsAsync(List<String> texts) {
    return callAsync(EmbeddingsGrpc.getEmbedTextMethod(),
        EmbedTextRequest.newBuilder().addAllTexts(texts).build(), true, ClipdbClient::vectors);
  }

  /**
   * The CLIP embedding of an encoded image (L2-normalised).
   *
   * @param image the encoded image
   * @return the vector
   */
  public float[] embedImage(byte[] image) {
    return embedImages(List.of(image)).get(0);
  }

  /**
   * The CLIP embedding of an image file.
   *
   * @param file the image file
   * @return the vector
   * @throws UncheckedIOException if the file cannot be read
   */
  public float[] embedImage(Path file) {
    try {
      return embedImage(Files.readAllBytes(file));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read image " + file, e);
    }
  }

  /**
   * The CLIP embeddings of encoded images, in order.
   *
   * @param images the encoded images
   * @return one vector per image
   */
  public List<float[]> embedImages(List<byte[]> images) {
    EmbedImageRequest.Builder b = EmbedImageRequest.newBuilder();
    images.forEach(i -> b.addImages(ByteString.copyFrom(i)));
    return vectors(call(EmbeddingsGrpc.getEmbedImageMethod(), b.build(), true));
  }

  private static List<float[]> vectors(EmbedResponse r) {
    List<float[]> out = new ArrayList<>(r.getEmbeddingsCount());
    for (Vector v : r.getEmbeddingsList()) {
      out.add(Values.toArray(v.getValuesList()));
    }
    return Collections.unmodifiableList(out);
  }

  /** Configures a {@link ClipdbClient}. */
  public static final class Builder {
    private String address = DEFAULT_ADDRESS;
    private String apiKey;
    private boolean tls;
    private byte[] trustedCertificates;
    private byte[] clientCertificateChain;
    private byte[] clientPrivateKey;
    private Duration timeout;
    private RetryPolicy retry = RetryPolicy.defaults();
    private final List<ClientInterceptor> interceptors = new ArrayList<>();

    private Builder() {}

    /**
     * The server: {@code "host:port"}, or {@code "http://host:port"} /
     * {@code "https://host:port"} (https means TLS). Default
     * {@value ClipdbClient#DEFAULT_ADDRESS}.
     *
     * @param address the server's address
     * @return this builder
     */
    public Builder address(String address) {
      this.address = Objects.requireNonNull(address, "address");
      return this;
    }

    /**
     * The API key, sent as {@code x-api-key} with every call.
     *
     * @param apiKey the key, or null for none
     * @return this builder
     */
    public Builder apiKey(String apiKey) {
      this.apiKey = apiKey;
      return this;
    }

    /**
     * Use TLS, trusting the system's CAs unless {@link #trustedCertificates}
     * is given (which implies TLS).
     *
     * @param tls whether to use TLS
     * @return this builder
     */
    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    /**
     * Use TLS and trust these CA certificates (PEM) instead of the system's.
     *
     * @param pem one or more PEM certificates
     * @return this builder
     */
    public Builder trustedCertificates(byte[] pem) {
      this.trustedCertificates = pem.clone();
      return this;
    }

    /**
     * Use TLS and trust the CA certificates in this PEM file.
     *
     * @param pemFile the file
     * @return this builder
     * @throws UncheckedIOException if it cannot be read
     */
    public Builder trustedCertificates(Path pemFile) {
      this.trustedCertificates = read(pemFile);
      return this;
    }

    /**
     * Present a client certificate (mutual TLS; implies TLS).
     *
     * @param certificateChainPem the certificate chain (PEM)
     * @param privateKeyPem its private key (PEM, PKCS#8)
     * @return this builder
     */
    public Builder clientCertificate(byte[] certificateChainPem, byte[] privateKeyPem) {
      this.clientCertificateChain = certificateChainPem.clone();
      this.clientPrivateKey = privateKeyPem.clone();
      return this;
    }

    /**
     * A deadline for each call (each attempt, when retried). Default none.
     *
     * @param timeout the deadline, or null for none
     * @return this builder
     */
    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    /**
     * How idempotent calls are retried (default {@link RetryPolicy#defaults()};
     * {@link RetryPolicy#none()} for no retries).
     *
     * @param retry the policy
     * @return this builder
     */
    public Builder retryPolicy(RetryPolicy retry) {
      this.retry = Objects.requireNonNull(retry, "retry");
      return this;
    }

    /**
     * Adds gRPC interceptors (tracing, metrics, extra headers), applied to
     * every call attempt.
     *
     * @param interceptors the interceptors
     * @return this builder
     */
    public Builder intercept(ClientInterceptor... interceptors) {
      this.interceptors.addAll(List.of(interceptors));
      return this;
    }

    /**
     * Connects (lazily: the first call opens the connection).
     *
     * @return the client
     */
    public ClipdbClient build() {
      return new ClipdbClient(this);
    }

    private static byte[] read(Path file) {
      try {
        return Files.readAllBytes(file);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file, e);
      }
    }
  }
}
