package io.clipdb;

import io.clipdb.v1.ScoredPoint;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/** A search hit; hits come best first. */
public final class Hit {
  private final String id;
  private final float score;
  private final Map<String, Object> payload;
  private final float[] vector;

  Hit(String id, float score, Map<String, Object> payload, float[] vector) {
    this.id = id;
    this.score = score;
    this.payload = payload;
    this.vector = vector;
  }

  static Hit fromProto(ScoredPoint p) {
    return new Hit(p.getId(), p.getScore(), Values.toMap(p.getPayload()),
        p.getVectorCount() > 0 ? Values.toArray(p.getVectorList()) : null);
  }

  /**
   * The point's id.
   *
   * @return the id
   */
  public String id() {
    return id;
  }

  /**
   * Cosine similarity or inner product (higher is closer), or Euclidean
   * distance for L2 collections (lower is closer).
   *
   * @return the score
   */
  public float score() {
    return score;
  }

  /**
   * The payload (empty unless requested): an unmodifiable map whose whole
   * numbers are {@code Long}, other numbers {@code Double}, lists
   * {@code List}, objects {@code Map}.
   *
   * @return the payload
   */
  public Map<String, Object> payload() {
    return payload;
  }

  /**
   * The stored vector, with {@link Search#withVector}; null otherwise.
   *
   * @return a copy of the vector, or null
   */
  public float[] vector() {
    return vector == null ? null : vector.clone();
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Hit)) {
      return false;
    }
    Hit h = (Hit) o;
    return id.equals(h.id) && Float.compare(score, h.score) == 0 && payload.equals(h.payload)
        && Arrays.equals(vector, h.vector);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, score, payload, Arrays.hashCode(vector));
  }

  @Override
  public String toString() {
    return "Hit{id=" + id + ", score=" + score + ", payload=" + payload
        + (vector != null ? ", vector=" + Arrays.toString(vector) : "") + "}";
  }
}
