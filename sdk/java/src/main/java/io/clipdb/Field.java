package io.clipdb;

import io.clipdb.v1.IsEmpty;
import io.clipdb.v1.Range;
import io.clipdb.v1.ValueList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Objects;

/**
 * A payload field in a filter, dotted for nested objects ({@code "meta.author"}).
 * A field holding a list matches if any element matches; a point without the
 * field matches no condition but {@link #isEmpty()}.
 *
 * <pre>{@code
 * Filter.must(Field.of("colour").eq("red"), Field.of("year").gte(2020))
 * }</pre>
 */
public final class Field {
  private final String key;

  private Field(String key) {
    this.key = Objects.requireNonNull(key, "key");
  }

  /**
   * The field at this key.
   *
   * @param key the payload key, dotted for nested objects
   * @return the field
   */
  public static Field of(String key) {
    return new Field(key);
  }

  private io.clipdb.v1.Condition.Builder condition() {
    return io.clipdb.v1.Condition.newBuilder().setKey(key);
  }

  /**
   * The field equals this string, number or boolean (numbers compare as doubles).
   *
   * @param value the value
   * @return the condition
   */
  public Condition eq(Object value) {
    return new Condition(condition().setEquals(Values.toValue(value, key)).build());
  }

  /**
   * The field does not equal this value (or is missing).
   *
   * @param value the value
   * @return the condition
   */
  public Condition ne(Object value) {
    return eq(value).negate();
  }

  /**
   * The field is a number greater than {@code value}.
   *
   * @param value the bound
   * @return the condition
   */
  public Condition gt(double value) {
    return range(Range.newBuilder().setGt(value).build());
  }

  /**
   * The field is a number at least {@code value}.
   *
   * @param value the bound
   * @return the condition
   */
  public Condition gte(double value) {
    return range(Range.newBuilder().setGte(value).build());
  }

  /**
   * The field is a number less than {@code value}.
   *
   * @param value the bound
   * @return the condition
   */
  public Condition lt(double value) {
    return range(Range.newBuilder().setLt(value).build());
  }

  /**
   * The field is a number at most {@code value}.
   *
   * @param value the bound
   * @return the condition
   */
  public Condition lte(double value) {
    return range(Range.newBuilder().setLte(value).build());
  }

  /**
   * The field is a number in {@code [from, to]}.
   *
   * @param from the lower bound, inclusive
   * @param to the upper bound, inclusive
   * @return the condition
   */
  public Condition between(double from, double to) {
    return range(Range.newBuilder().setGte(from).setLte(to).build());
  }

  /**
   * The field is a number within these bounds (unset bounds are open).
   *
   * @param range the bounds
   * @return the condition
   */
  public Condition range(Range range) {
    return new Condition(condition().setRange(range).build());
  }

  /**
   * The field equals one of these values (1 to 10000 of them).
   *
   * @param values strings, numbers or booleans
   * @return the condition
   */
  public Condition any(Object... values) {
    return any(Arrays.asList(values));
  }

  /**
   * The field equals one of these values (1 to 10000 of them).
   *
   * @param values strings, numbers or booleans
   * @return the condition
   */
  public Condition any(Collection<?> values) {
    ValueList.Builder list = ValueList.newBuilder();
    for (Object v : values) {
      list.addValues(Values.toValue(v, key));
    }
    return new Condition(condition().setAny(list).build());
  }

  /**
   * The field is missing, null or an empty list.
   *
   * @return the condition
   */
  public Condition isEmpty() {
    return new Condition(condition().setIsEmpty(IsEmpty.getDefaultInstance()).build());
  }

  /**
   * The field is a string containing every word of {@code words}, ignoring case.
   *
   * @param words at least one word
   * @return the condition
   */
  public Condition text(String words) {
    return new Condition(condition().setText(words).build());
  }

  @Override
  public String toString() {
    return "Field{" + key + "}";
  }
}
