package io.clipdb;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Converts payloads between plain Java values and protobuf Struct/Value. */
final class Values {
  // doubles up to 2^53 hold whole numbers exactly: those come back as Long
  private static final double MAX_EXACT_LONG = 9007199254740992.0;

  private Values() {}

  static Struct toStruct(Map<String, ?> map) {
    return toStruct(map, "payload");
  }

  private static Struct toStruct(Map<?, ?> map, String path) {
    Struct.Builder b = Struct.newBuilder();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (!(e.getKey() instanceof CharSequence)) {
        throw new IllegalArgumentException(
            path + " has a non-string key " + e.getKey() + "; payload keys are strings");
      }
      String key = e.getKey().toString();
      b.putFields(key, toValue(e.getValue(), path + "." + key));
    }
    return b.build();
  }

  /**
   * A payload value: null, Boolean, Number, CharSequence, Character, Enum (its
   * name), Map with string keys, Iterable, array, or a protobuf Value.
   */
  static Value toValue(Object v, String path) {
    if (v == null) {
      return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
    }
    if (v instanceof Value) {
      return (Value) v;
    }
    if (v instanceof Boolean) {
      return Value.newBuilder().setBoolValue((Boolean) v).build();
    }
    if (v instanceof Number) {
      return Value.newBuilder().setNumberValue(((Number) v).doubleValue()).build();
    }
    if (v instanceof CharSequence || v instanceof Character) {
      return Value.newBuilder().setStringValue(v.toString()).build();
    }
    if (v instanceof Enum) {
      return Value.newBuilder().setStringValue(((Enum<?>) v).name()).build();
    }
    if (v instanceof Map) {
      return Value.newBuilder().setStructValue(toStruct((Map<?, ?>) v, path)).build();
    }
    ListValue.Builder list = ListValue.newBuilder();
    if (v instanceof Iterable) {
      int i = 0;
      for (Object item : (Iterable<?>) v) {
        list.addValues(toValue(item, path + "[" + i++ + "]"));
      }
      return Value.newBuilder().setListValue(list).build();
    }
    if (v.getClass().isArray()) {
      int n = Array.getLength(v);
      for (int i = 0; i < n; i++) {
        list.addValues(toValue(Array.get(v, i), path + "[" + i + "]"));
      }
      return Value.newBuilder().setListValue(list).build();
    }
    throw new IllegalArgumentException(
        path + " is a " + v.getClass().getName()
            + "; payload values are null, Boolean, Number, String, Map, List or arrays");
  }

  /** An unmodifiable map, in the struct's order. */
  static Map<String, Object> toMap(Struct s) {
    if (s.getFieldsCount() == 0) {
      return Collections.emptyMap();
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<String, Value> e : s.getFieldsMap().entrySet()) {
      out.put(e.getKey(), fromValue(e.getValue()));
    }
    return Collections.unmodifiableMap(out);
  }

  /** Whole numbers (up to 2^53) as Long, other numbers as Double. */
  static Object fromValue(Value v) {
    switch (v.getKindCase()) {
      case BOOL_VALUE:
        return v.getBoolValue();
      case NUMBER_VALUE:
        double d = v.getNumberValue();
        if (d == Math.rint(d) && Math.abs(d) <= MAX_EXACT_LONG) {
          return (long) d;
        }
        return d;
      case STRING_VALUE:
        return v.getStringValue();
      case STRUCT_VALUE:
        return toMap(v.getStructValue());
      case LIST_VALUE:
        List<Object> list = new ArrayList<>(v.getListValue().getValuesCount());
        for (Value item : v.getListValue().getValuesList()) {
          list.add(fromValue(item));
        }
        return Collections.unmodifiableList(list);
      default:
        return null;
    }
  }

  static float[] toArray(List<Float> values) {
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }

  static List<Float> toList(float[] values) {
    List<Float> out = new ArrayList<>(values.length);
    for (float f : values) {
      out.add(f);
    }
    return out;
  }
}
