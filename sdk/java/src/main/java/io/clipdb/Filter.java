package io.clipdb;

import java.util.Arrays;
import java.util.Objects;

/**
 * A payload filter: every {@code must} condition holds, at least one
 * {@code should} condition holds (when any are given), and no
 * {@code mustNot} condition holds. Immutable.
 *
 * <pre>{@code
 * Filter.must(Field.of("colour").eq("red"), Field.of("year").gte(2020))
 * Filter.builder()
 *     .should(Field.of("tags").any("cat", "dog"), Field.of("meta.author").text("smith"))
 *     .mustNot(Condition.hasId("a", "b"), Field.of("note").isEmpty())
 *     .build()
 * }</pre>
 */
public final class Filter {
  private final io.clipdb.v1.Filter proto;

  private Filter(io.clipdb.v1.Filter proto) {
    this.proto = proto;
  }

  /**
   * All these conditions hold.
   *
   * @param conditions the conditions
   * @return the filter
   */
  public static Filter must(Condition... conditions) {
    return builder().must(conditions).build();
  }

  /**
   * At least one of these conditions holds.
   *
   * @param conditions the conditions
   * @return the filter
   */
  public static Filter should(Condition... conditions) {
    return builder().should(conditions).build();
  }

  /**
   * None of these conditions holds.
   *
   * @param conditions the conditions
   * @return the filter
   */
  public static Filter mustNot(Condition... conditions) {
    return builder().mustNot(conditions).build();
  }

  /**
   * A filter made of the generated proto message.
   *
   * @param proto the filter as the server takes it
   * @return the filter
   */
  public static Filter fromProto(io.clipdb.v1.Filter proto) {
    return new Filter(Objects.requireNonNull(proto, "proto"));
  }

  /**
   * An empty builder.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder(io.clipdb.v1.Filter.newBuilder());
  }

  /**
   * A builder starting from this filter's clauses.
   *
   * @return the builder
   */
  public Builder toBuilder() {
    return new Builder(proto.toBuilder());
  }

  /**
   * The proto message (for the generated stubs).
   *
   * @return the filter as sent
   */
  public io.clipdb.v1.Filter toProto() {
    return proto;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Filter && proto.equals(((Filter) o).proto);
  }

  @Override
  public int hashCode() {
    return proto.hashCode();
  }

  @Override
  public String toString() {
    return "Filter{" + proto.toString().trim().replace('\n', ' ') + "}";
  }

  /** Adds conditions to the three clauses. */
  public static final class Builder {
    private final io.clipdb.v1.Filter.Builder proto;

    private Builder(io.clipdb.v1.Filter.Builder proto) {
      this.proto = proto;
    }

    /**
     * Adds conditions that must all hold.
     *
     * @param conditions the conditions
     * @return this builder
     */
    public Builder must(Condition... conditions) {
      Arrays.stream(conditions).forEach(c -> proto.addMust(c.toProto()));
      return this;
    }

    /**
     * Adds conditions of which at least one must hold.
     *
     * @param conditions the conditions
     * @return this builder
     */
    public Builder should(Condition... conditions) {
      Arrays.stream(conditions).forEach(c -> proto.addShould(c.toProto()));
      return this;
    }

    /**
     * Adds conditions of which none may hold.
     *
     * @param conditions the conditions
     * @return this builder
     */
    public Builder mustNot(Condition... conditions) {
      Arrays.stream(conditions).forEach(c -> proto.addMustNot(c.toProto()));
      return this;
    }

    /**
     * The filter.
     *
     * @return the filter
     */
    public Filter build() {
      return new Filter(proto.build());
    }
  }
}
