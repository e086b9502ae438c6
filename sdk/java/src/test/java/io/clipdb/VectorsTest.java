package io.clipdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clipdb.v1.CollectionInfo;
import io.clipdb.v1.Metric;
import io.clipdb.v1.PayloadIndexInfo;
import io.clipdb.v1.PayloadIndexType;
import io.clipdb.v1.Quantization;
import io.clipdb.v1.SnapshotInfo;
import io.clipdb.v1.Vectorizer;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Raw-vector collections against the real server. */
class VectorsTest {
  private ClipdbClient db;
  private String demo;

  @BeforeEach
  void createDemoCollection() {
    db = ClipdbClient.builder().address(ClipdbServer.demo()).timeout(Duration.ofSeconds(30))
        .build();
    demo = ClipdbServer.name();
    CollectionInfo info = db.createCollection(demo, 4);
    assertEquals(demo, info.getName());
    assertEquals(4, info.getDimension());
    assertEquals(Metric.METRIC_COSINE, info.getMetric());
    assertEquals(Vectorizer.VECTORIZER_NONE, info.getVectorizer());
    long written = db.upsert(demo, List.of(
        Point.of("a").vector(1, 0, 0, 0).payload(Map.of("colour", "red", "year", 2019)),
        Point.of("b").vector(0, 1, 0, 0).payload(Map.of("colour", "blue", "year", 2021)),
        Point.of("c").vector(1, 1, 0, 0).payload(Map.of("colour", "red", "year", 2023,
            "meta", Map.of("tags", List.of("x", "y"))))));
    assertEquals(3, written);
  }

  @AfterEach
  void close() {
    db.close();
  }

  private List<String> ids(List<Hit> hits) {
    return hits.stream().map(Hit::id).collect(Collectors.toList());
  }

  /** Explicit f32 and int8 are kept; unset is the server's default, int8 here. */
  @Test
  void quantization() {
    Map<Quantization, Quantization> wanted = Map.of(
        Quantization.QUANTIZATION_F32, Quantization.QUANTIZATION_F32,
        Quantization.QUANTIZATION_INT8, Quantization.QUANTIZATION_INT8,
        Quantization.QUANTIZATION_NONE, Quantization.QUANTIZATION_INT8);
    for (Map.Entry<Quantization, Quantization> c : wanted.entrySet()) {
      String name = ClipdbServer.name();
      CollectionInfo info = db.createCollection(
          CollectionConfig.vectors(name, 4).quantization(c.getKey()));
      assertEquals(c.getValue(), info.getQuantization(), "asked " + c.getKey());
      assertEquals(c.getValue(), db.getCollection(name).getQuantization(), "asked " + c.getKey());
    }
    String unset = ClipdbServer.name();
    assertEquals(Quantization.QUANTIZATION_INT8,
        db.createCollection(CollectionConfig.vectors(unset, 4)).getQuantization());
  }

  @Test
  void collections() {
    assertEquals(3, db.getCollection(demo).getPointCount());
    assertTrue(db.listCollections().stream().anyMatch(c -> c.getName().equals(demo)));
    assertTrue(db.collectionExists(demo));
    assertThrows(AlreadyExistsException.class, () -> db.createCollection(demo, 4));
    db.deleteCollection(demo);
    assertFalse(db.collectionExists(demo));
    NotFoundException e = assertThrows(NotFoundException.class, () -> db.getCollection(demo));
    assertTrue(e.getMessage().contains(demo), e.getMessage());
    assertEquals(Status.Code.NOT_FOUND, e.getCode());
  }

  @Test
  void searchAndFilters() {
    List<Hit> hits = db.search(demo, Search.byVector(1, 0.2f, 0, 0).limit(2));
    assertEquals(List.of("a", "c"), ids(hits));
    assertEquals(Map.of("colour", "red", "year", 2019L), hits.get(0).payload());
    assertTrue(hits.get(0).score() > hits.get(1).score());
    assertNull(hits.get(0).vector());

    Filter redSince2020 = Filter.must(Field.of("colour").eq("red"), Field.of("year").gte(2020));
    assertEquals(List.of("c"), ids(db.search(demo, Search.byVector(1, 0.2f, 0, 0)
        .filter(redSince2020))));
    assertEquals(List.of("b"), ids(db.search(demo, Search.byVector(1, 0, 0, 0)
        .filter(Filter.must(Field.of("colour").ne("red"))))));
    assertEquals(List.of("c", "b"), ids(db.search(demo, Search.byVector(1, 0, 0, 0)
        .filter(Filter.should(Condition.hasId("b"), Field.of("year").gt(2022))))));
    assertEquals(List.of("c"), ids(db.search(demo, Search.byVector(1, 0, 0, 0)
        .filter(Filter.must(Field.of("meta.tags").any("y", "z"))))));
    assertEquals(List.of("a"), ids(db.search(demo, Search.byVector(1, 0, 0, 0)
        .filter(Filter.builder().must(Field.of("year").between(2000, 2020))
            .mustNot(Field.of("colour").isEmpty()).build()))));

    hits = db.search(demo, Search.byVector(0, 1, 0, 0).limit(1).withVector(true)
        .withPayload(false));
    assertEquals("b", hits.get(0).id());
    assertEquals(Map.of(), hits.get(0).payload());
    assertArrayEquals(new float[] {0, 1, 0, 0}, hits.get(0).vector());

    assertEquals("c", db.search(demo, Search.byId("a").limit(5)).get(0).id());
    assertEquals(List.of("c"), ids(db.search(demo, Search.byVector(1, 0, 0, 0).offset(1)
        .limit(1))));
    assertEquals(List.of("a"), ids(db.search(demo, Search.byVector(1, 0, 0, 0)
        .scoreThreshold(0.9f))));
    assertEquals(List.of("a", "c"), ids(db.search(demo, Search.byVector(1, 0, 0, 0).ef(200)
        .limit(2))));
    Hit year = db.search(demo, Search.byVector(1, 0, 0, 0).limit(1).payloadFields("year"))
        .get(0);
    assertEquals(Map.of("year", 2019L), year.payload());

    List<List<Hit>> batch = db.searchBatch(demo, List.of(
        Search.byVector(1, 0, 0, 0).limit(1), Search.byVector(0, 1, 0, 0).limit(1)));
    assertEquals(List.of(List.of("a"), List.of("b")),
        batch.stream().map(this::ids).collect(Collectors.toList()));
    assertEquals(List.of("c"), ids(db.recommend(demo, Recommend.create().positive("a")
        .negative(new float[] {0, 1, 0, 0}).limit(1))));
  }

  @Test
  void getDeleteCountScroll() {
    List<Record> got = db.get(demo, List.of("c", "missing", "a"), true);
    assertEquals(List.of("c", "a"), got.stream().map(Record::id).collect(Collectors.toList()));
    assertArrayEquals(new float[] {1, 0, 0, 0}, got.get(1).vector());
    assertEquals(Map.of("tags", List.of("x", "y")), got.get(0).payload().get("meta"));
    assertNull(db.get(demo, "a").get(0).vector());

    assertEquals(3, db.count(demo));
    assertEquals(2, db.count(demo, Filter.must(Field.of("colour").eq("red"))));
    List<Point> more = IntStream.range(0, 250).mapToObj(i -> Point.of(String.format("p%03d", i))
        .vector(i, 1, 1, 1).payload(Map.of("i", i))).collect(Collectors.toList());
    assertEquals(250, db.upsert(demo, more, 100));
    assertEquals(253, db.count(demo));

    List<String> all = db.scroll(demo, null, 40, true, false).map(Record::id)
        .collect(Collectors.toList());
    assertEquals(253, all.size());
    assertEquals(all.stream().sorted().collect(Collectors.toList()), all);
    assertEquals(List.of("p000", "p001", "p002"),
        db.scroll(demo, Filter.must(Field.of("i").lt(3))).map(Record::id)
            .collect(Collectors.toList()));

    assertEquals(1, db.delete(demo, List.of("a", "nope")));
    assertEquals(150, db.delete(demo, Filter.must(Field.of("i").gte(100))));
    assertEquals(102, db.count(demo));
  }

  @Test
  void payloadUpdatesAndIndexes() {
    assertEquals(2, db.setPayload(demo, Map.of("seen", true), List.of("a", "b")));
    assertEquals(Map.of("colour", "red", "year", 2019L, "seen", true),
        db.get(demo, "a").get(0).payload());
    assertEquals(1, db.replacePayload(demo, Map.of("only", 1.5),
        Filter.must(Field.of("colour").eq("blue"))));
    assertEquals(Map.of("only", 1.5), db.get(demo, "b").get(0).payload());
    assertEquals(2, db.deletePayloadKeys(demo, List.of("year"),
        Filter.must(Field.of("colour").eq("red"))));
    assertFalse(db.get(demo, "c").get(0).payload().containsKey("year"));

    PayloadIndexInfo index = db.createPayloadIndex(demo, "colour",
        PayloadIndexType.PAYLOAD_INDEX_KEYWORD);
    assertEquals("colour", index.getKey());
    assertEquals(List.of("colour"), db.getCollection(demo).getPayloadIndexesList().stream()
        .map(PayloadIndexInfo::getKey).collect(Collectors.toList()));
    db.deletePayloadIndex(demo, "colour");
    assertEquals(0, db.getCollection(demo).getPayloadIndexesCount());
  }

  @Test
  void snapshots() {
    SnapshotInfo snap = db.createSnapshot(demo);
    assertEquals(demo, snap.getCollection());
    assertEquals(3, snap.getPointCount());
    assertTrue(snap.hasCreatedAt());
    assertTrue(db.listSnapshots(demo).stream().anyMatch(s -> s.getName().equals(snap.getName())));
    assertTrue(db.listSnapshots().stream().anyMatch(s -> s.getName().equals(snap.getName())));
    db.deleteSnapshot(demo, snap.getName());
    assertEquals(List.of(), db.listSnapshots(demo));
    assertThrows(NotFoundException.class, () -> db.deleteSnapshot(demo, snap.getName()));
  }

  @Test
  void errorsCarryTheServersMessage() {
    InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
        () -> db.upsert(demo, List.of(Point.of("x").vector(1, 2))));
    assertEquals("point `x`: vector has dimension 2, collection `" + demo + "` expects 4",
        e.getMessage());
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertInstanceOf(ClipdbException.class, e);

    InvalidArgumentException limit = assertThrows(InvalidArgumentException.class,
        () -> db.search(demo, Search.byVector(1, 0, 0, 0).limit(20000)));
    assertTrue(limit.getMessage().contains("limit"), limit.getMessage());
    assertThrows(NotFoundException.class,
        () -> db.search("no_such_collection", Search.byVector(1, 0, 0, 0)));
    // text on a raw-vector collection
    assertThrows(FailedPreconditionException.class,
        () -> db.search(demo, Search.byText("a red circle")));
    // caught before sending
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> db.upsert(demo, List.of(Point.of("y").vector(1, 0, 0, 0)
            .payload(Map.of("when", new Object())))));
    assertTrue(bad.getMessage().contains("point `y`: payload.when"), bad.getMessage());
  }

  @Test
  void payloadValuesRoundTrip() {
    Map<String, Object> payload = new HashMap<>();
    payload.put("int", 3);
    payload.put("float", 2.5f);
    payload.put("big", 1L << 60);   // past 2^53: stays a Double
    payload.put("bool", true);
    payload.put("none", null);
    payload.put("array", new int[] {1, 2});
    payload.put("nested", Map.of("tags", List.of("a", "b"), "score", -0.25));
    db.upsert(demo, List.of(Point.of("v").vector(0, 0, 1, 0).payload(payload)));
    Map<String, Object> back = db.get(demo, "v").get(0).payload();
    Map<String, Object> want = new HashMap<>(payload);
    want.put("int", 3L);
    want.put("float", 2.5);
    want.put("big", (double) (1L << 60));
    want.put("array", List.of(1L, 2L));
    want.put("nested", Map.of("tags", List.of("a", "b"), "score", -0.25));
    assertEquals(want, back);
    assertEquals(1, db.count(demo, Filter.must(Field.of("none").isEmpty(),
        Field.of("nested.tags").eq("b"))));
    Filter notRed = Filter.must(Field.of("nested.score").lt(0)).toBuilder()
        .mustNot(Field.of("colour").eq("red")).build();
    assertEquals(List.of("v"), ids(db.search(demo, Search.byVector(0, 0, 1, 0).filter(notRed))));
  }

  @Test
  void deadlines() {
    try (ClipdbClient late = ClipdbClient.builder().address(ClipdbServer.demo())
        .timeout(Duration.ofNanos(1)).build()) {
      // the deadline has passed before the call is sent: no race with the server
      DeadlineExceededException e = assertThrows(DeadlineExceededException.class,
          () -> late.count(demo));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getCode());
    }
  }

  @Test
  void asyncVariants() throws Exception {
    List<Hit> hits = db.searchAsync(demo, Search.byVector(1, 0.2f, 0, 0).limit(2)).get();
    assertEquals(List.of("a", "c"), ids(hits));
    assertEquals(2L, db.upsertAsync(demo, List.of(Point.of("d").vector(0, 0, 1, 0),
        Point.of("e").vector(0, 0, 0, 1))).get());
    assertEquals(5L, db.countAsync(demo, null).get());
    assertEquals(1L, db.countAsync(demo, Filter.must(Field.of("year").lt(2020))).get());
    assertEquals(List.of("e"), db.getAsync(demo, List.of("e"), false).get().stream()
        .map(Record::id).collect(Collectors.toList()));
    assertEquals(1L, db.deleteAsync(demo, List.of("e")).get());
    assertEquals(demo, db.getCollectionAsync(demo).get().getName());
    assertEquals(2, db.searchBatchAsync(demo, List.of(Search.byId("a"), Search.byId("b"))).get()
        .size());

    CompletionException failed = assertThrows(CompletionException.class,
        () -> db.searchAsync(demo, Search.byVector(1, 2)).join());
    InvalidArgumentException cause = assertInstanceOf(InvalidArgumentException.class,
        failed.getCause());
    assertTrue(cause.getMessage().contains("dimension"), cause.getMessage());

    String other = ClipdbServer.name();
    assertEquals(8, db.createCollectionAsync(CollectionConfig.vectors(other, 8)
        .metric(Metric.METRIC_L2)).get().getDimension());
    assertTrue(db.listCollectionsAsync().get().stream().anyMatch(c -> c.getName().equals(other)));
    db.deleteCollectionAsync(other).get();
    CompletionException gone = assertThrows(CompletionException.class,
        () -> db.deleteCollectionAsync(other).join());
    assertInstanceOf(NotFoundException.class, gone.getCause());
  }

  @Test
  void upsertStreamReportsProgress() {
    List<Point> points = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      points.add(Point.of(i).vector(1, i, 0, 0));
    }
    List<Long> progress = new ArrayList<>();
    assertEquals(25, db.upsertStream(demo, points, 10, progress::add));
    assertEquals(List.of(10L, 20L, 25L), progress);
    assertEquals(28, db.count(demo));
    // a bad point in the second batch: the first stays stored
    List<Point> bad = List.of(Point.of("s1").vector(1, 0, 0, 0), Point.of("s2").vector(1, 0));
    InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
        () -> db.upsertStream(demo, bad, 1, null));
    assertTrue(e.getMessage().contains("s2"), e.getMessage());
    assertEquals(1, db.get(demo, "s1").size());
  }
}
