package io.clipdb;

import io.clipdb.v1.FusionWeights;
import io.clipdb.v1.RecommendRequest;
import io.clipdb.v1.Vector;
import java.util.Arrays;

/**
 * "More like these, less like those": a search with the mean of the positive
 * examples pushed away from the mean of the negative ones. Examples are
 * stored point ids (left out of the hits) or raw vectors; at least one
 * positive.
 *
 * <pre>{@code
 * db.recommend("demo", Recommend.create().positive("a").negative(new float[] {0, 1, 0, 0}).limit(3));
 * }</pre>
 *
 * <p>A builder: each setter returns it; not thread-safe while being built.
 */
public final class Recommend {
  private final RecommendRequest.Builder proto =
      RecommendRequest.newBuilder().setWithPayload(true).setLimit(10);

  private Recommend() {}

  /**
   * An empty recommendation; add examples with {@link #positive} and {@link #negative}.
   *
   * @return the recommendation
   */
  public static Recommend create() {
    return new Recommend();
  }

  /**
   * Stored points to move toward.
   *
   * @param ids the points' ids
   * @return this recommendation
   */
  public Recommend positive(String... ids) {
    proto.addAllPositiveIds(Arrays.asList(ids));
    return this;
  }

  /**
   * A raw vector to move toward.
   *
   * @param vector the example vector
   * @return this recommendation
   */
  public Recommend positive(float[] vector) {
    proto.addPositiveVectors(Vector.newBuilder().addAllValues(Values.toList(vector)));
    return this;
  }

  /**
   * Stored points to move away from.
   *
   * @param ids the points' ids
   * @return this recommendation
   */
  public Recommend negative(String... ids) {
    proto.addAllNegativeIds(Arrays.asList(ids));
    return this;
  }

  /**
   * A raw vector to move away from.
   *
   * @param vector the example vector
   * @return this recommendation
   */
  public Recommend negative(float[] vector) {
    proto.addNegativeVectors(Vector.newBuilder().addAllValues(Values.toList(vector)));
    return this;
  }

  /**
   * Number of hits (default 10), as in {@link Search#limit}.
   *
   * @param limit the number of hits
   * @return this recommendation
   */
  public Recommend limit(int limit) {
    proto.setLimit(limit);
    return this;
  }

  /**
   * Only points matching this filter.
   *
   * @param filter the filter
   * @return this recommendation
   */
  public Recommend filter(Filter filter) {
    proto.setFilter(filter.toProto());
    return this;
  }

  /**
   * Candidate list size, as in {@link Search#ef}.
   *
   * @param ef the candidate list size
   * @return this recommendation
   */
  public Recommend ef(int ef) {
    proto.setEf(ef);
    return this;
  }

  /**
   * Fusion weights, as in {@link Search#fusion}.
   *
   * @param image the image weight
   * @param text the caption weight
   * @return this recommendation
   */
  public Recommend fusion(float image, float text) {
    proto.setFusion(FusionWeights.newBuilder().setImage(image).setText(text));
    return this;
  }

  /**
   * Attach payloads to hits (default true).
   *
   * @param withPayload whether to attach payloads
   * @return this recommendation
   */
  public Recommend withPayload(boolean withPayload) {
    proto.setWithPayload(withPayload);
    return this;
  }

  /**
   * Attach stored vectors to hits (default false).
   *
   * @param withVector whether to attach vectors
   * @return this recommendation
   */
  public Recommend withVector(boolean withVector) {
    proto.setWithVector(withVector);
    return this;
  }

  /**
   * Leave out hits worse than this score, as in {@link Search#scoreThreshold}.
   *
   * @param threshold the score threshold
   * @return this recommendation
   */
  public Recommend scoreThreshold(float threshold) {
    proto.setScoreThreshold(threshold);
    return this;
  }

  /**
   * Skip this many best hits first.
   *
   * @param offset hits to skip
   * @return this recommendation
   */
  public Recommend offset(int offset) {
    proto.setOffset(offset);
    return this;
  }

  /**
   * Return only these payload keys.
   *
   * @param keys the payload keys
   * @return this recommendation
   */
  public Recommend payloadFields(String... keys) {
    proto.clearPayloadFields().addAllPayloadFields(Arrays.asList(keys));
    return this;
  }

  /**
   * The request the server takes, for this collection.
   *
   * @param collection the collection to search
   * @return the proto request
   */
  public RecommendRequest toProto(String collection) {
    return proto.clone().setCollection(collection).build();
  }
}
