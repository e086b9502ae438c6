package io.clipdb;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/** A stored point as {@link ClipdbClient#get} and {@link ClipdbClient#scroll} return it. */
public final class Record {
  private final String id;
  private final Map<String, Object> payload;
  private final float[] vector;
  private final float[] textVector;

  Record(String id, Map<String, Object> payload, float[] vector, float[] textVector) {
    this.id = id;
    this.payload = payload;
    this.vector = vector;
    this.textVector = textVector;
  }

  static Record fromProto(io.clipdb.v1.Point p) {
    return new Record(p.getId(), Values.toMap(p.getPayload()),
        p.getVectorCount() > 0 ? Values.toArray(p.getVectorList()) : null,
        p.getTextVectorCount() > 0 ? Values.toArray(p.getTextVectorList()) : null);
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
   * The payload, as in {@link Hit#payload()}.
   *
   * @return an unmodifiable map
   */
  public Map<String, Object> payload() {
    return payload;
  }

  /**
   * The stored vector (L2-normalised for cosine collections; the image vector
   * of a CLIP point that has one), when asked for; else null.
   *
   * @return a copy of the vector, or null
   */
  public float[] vector() {
    return vector == null ? null : vector.clone();
  }

  /**
   * The stored caption vector of a CLIP point, when asked for; else null.
   *
   * @return a copy of the vector, or null
   */
  public float[] textVector() {
    return textVector == null ? null : textVector.clone();
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Record)) {
      return false;
    }
    Record r = (Record) o;
    return id.equals(r.id) && payload.equals(r.payload) && Arrays.equals(vector, r.vector)
        && Arrays.equals(textVector, r.textVector);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, payload, Arrays.hashCode(vector), Arrays.hashCode(textVector));
  }

  @Override
  public String toString() {
    return "Record{id=" + id + ", payload=" + payload + "}";
  }
}
