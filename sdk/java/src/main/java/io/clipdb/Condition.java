package io.clipdb;

import io.clipdb.v1.IdList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Objects;

/**
 * One condition of a {@link Filter}: made by {@link Field} (tests on a
 * payload field), {@link #hasId}, or {@link #matches} (a nested filter).
 * Immutable.
 */
public final class Condition {
  private final io.clipdb.v1.Condition proto;

  Condition(io.clipdb.v1.Condition proto) {
    this.proto = proto;
  }

  /**
   * The point's id is one of these (1 to 10000 ids).
   *
   * @param ids the ids
   * @return the condition
   */
  public static Condition hasId(String... ids) {
    return hasId(Arrays.asList(ids));
  }

  /**
   * The point's id is one of these (1 to 10000 ids).
   *
   * @param ids the ids
   * @return the condition
   */
  public static Condition hasId(Collection<String> ids) {
    return new Condition(io.clipdb.v1.Condition.newBuilder()
        .setHasId(IdList.newBuilder().addAllIds(ids)).build());
  }

  /**
   * Holds when the nested filter does (filters nest at most 8 levels).
   *
   * @param filter the nested filter
   * @return the condition
   */
  public static Condition matches(Filter filter) {
    return new Condition(io.clipdb.v1.Condition.newBuilder().setFilter(filter.toProto()).build());
  }

  /**
   * Holds when this condition does not.
   *
   * @return the negated condition
   */
  public Condition negate() {
    return matches(Filter.mustNot(this));
  }

  /**
   * The proto message (for the generated stubs).
   *
   * @return the condition as sent
   */
  public io.clipdb.v1.Condition toProto() {
    return proto;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Condition && proto.equals(((Condition) o).proto);
  }

  @Override
  public int hashCode() {
    return Objects.hashCode(proto);
  }

  @Override
  public String toString() {
    return "Condition{" + proto.toString().trim().replace('\n', ' ') + "}";
  }
}
