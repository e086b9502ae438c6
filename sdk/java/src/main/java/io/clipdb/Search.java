package io.clipdb;

import com.google.protobuf.ByteString;
import io.clipdb.v1.FusionWeights;
import io.clipdb.v1.SearchRequest;
import io.clipdb.v1.Vector;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * A nearest-neighbour search: by a vector, a text, an image or a stored
 * point's id, with options.
 *
 * <pre>{@code
 * db.search("demo", Search.byVector(1, 0.2f, 0, 0).limit(5).filter(Filter.must(Field.of("colour").eq("red"))));
 * db.search("photos", Search.byText("a cat on a chair").fusion(0.3f, 0.7f).withVector(true));
 * }</pre>
 *
 * <p>A search is a builder: each setter returns it, and it is not thread-safe
 * while being built.
 */
public final class Search {
  private final SearchRequest.Builder proto;

  private Search(SearchRequest.Builder proto) {
    // payloads come back unless switched off, as in the other SDKs
    this.proto = proto.setWithPayload(true).setLimit(10);
  }

  /**
   * Searches for a raw vector of the collection's dimension.
   *
   * @param vector the query vector
   * @return the search
   */
  public static Search byVector(float... vector) {
    return new Search(SearchRequest.newBuilder()
        .setVector(Vector.newBuilder().addAllValues(Values.toList(vector))));
  }

  /**
   * Searches for a text, embedded by the server's CLIP model (CLIP collections).
   *
   * @param text the query text
   * @return the search
   */
  public static Search byText(String text) {
    return new Search(SearchRequest.newBuilder().setText(Objects.requireNonNull(text, "text")));
  }

  /**
   * Searches for an encoded image, embedded by the server (CLIP collections).
   *
   * @param image the encoded image
   * @return the search
   */
  public static Search byImage(byte[] image) {
    return new Search(SearchRequest.newBuilder().setImage(ByteString.copyFrom(image)));
  }

  /**
   * Searches for an image file, embedded by the server (CLIP collections).
   *
   * @param file the image file, read now
   * @return the search
   * @throws UncheckedIOException if the file cannot be read
   */
  public static Search byImage(Path file) {
    try {
      return byImage(Files.readAllBytes(file));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read image " + file, e);
    }
  }

  /**
   * "More like this": searches with the stored vector of this point, which is
   * left out of the hits.
   *
   * @param id the point's id
   * @return the search
   */
  public static Search byId(String id) {
    return new Search(SearchRequest.newBuilder().setId(Objects.requireNonNull(id, "id")));
  }

  /**
   * Number of hits (default 10, at most 10000).
   *
   * @param limit the number of hits
   * @return this search
   */
  public Search limit(int limit) {
    proto.setLimit(limit);
    return this;
  }

  /**
   * Only points matching this filter.
   *
   * @param filter the filter
   * @return this search
   */
  public Search filter(Filter filter) {
    proto.setFilter(filter.toProto());
    return this;
  }

  /**
   * Candidate list size (default: the collection's ef_search): larger is
   * slower and more exact.
   *
   * @param ef the candidate list size
   * @return this search
   */
  public Search ef(int ef) {
    proto.setEf(ef);
    return this;
  }

  /**
   * Weights of image and caption similarity for this query (CLIP
   * collections): (1, 0) searches images only, (0, 1) captions only.
   *
   * @param image the image weight
   * @param text the caption weight
   * @return this search
   */
  public Search fusion(float image, float text) {
    proto.setFusion(FusionWeights.newBuilder().setImage(image).setText(text));
    return this;
  }

  /**
   * Attach payloads to hits (default true).
   *
   * @param withPayload whether to attach payloads
   * @return this search
   */
  public Search withPayload(boolean withPayload) {
    proto.setWithPayload(withPayload);
    return this;
  }

  /**
   * Attach stored vectors to hits (default false).
   *
   * @param withVector whether to attach vectors
   * @return this search
   */
  public Search withVector(boolean withVector) {
    proto.setWithVector(withVector);
    return this;
  }

  /**
   * Leave out hits worse than this score (below it for cosine and dot,
   * above it for L2).
   *
   * @param threshold the score threshold
   * @return this search
   */
  public Search scoreThreshold(float threshold) {
    proto.setScoreThreshold(threshold);
    return this;
  }

  /**
   * Skip this many best hits first (paging; offset + limit at most 10000).
   *
   * @param offset hits to skip
   * @return this search
   */
  public Search offset(int offset) {
    proto.setOffset(offset);
    return this;
  }

  /**
   * Return only these payload keys (top-level or dotted).
   *
   * @param keys the payload keys
   * @return this search
   */
  public Search payloadFields(String... keys) {
    proto.clearPayloadFields().addAllPayloadFields(Arrays.asList(keys));
    return this;
  }

  /**
   * The request the server takes, for this collection.
   *
   * @param collection the collection to search
   * @return the proto request
   */
  public SearchRequest toProto(String collection) {
    return proto.clone().setCollection(collection).build();
  }
}
