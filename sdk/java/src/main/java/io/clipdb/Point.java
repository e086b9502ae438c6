package io.clipdb;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * A point to upsert: an id and a raw {@link #vector}, or for CLIP collections
 * an {@link #image} and/or a caption ({@link #text}, or a precomputed
 * {@link #textVector}), with an optional payload.
 *
 * <pre>{@code
 * Point.of("a").vector(1, 0, 0, 0).payload(Map.of("colour", "red", "year", 2019))
 * Point.of("cat-1").image(Path.of("cat.jpg")).text("a black cat on a chair")
 * }</pre>
 *
 * <p>A point is a builder: each setter returns it, and it is not thread-safe
 * while being built.
 */
public final class Point {
  private final String id;
  private float[] vector;
  private String text;
  private byte[] image;
  private Map<String, ?> payload;
  private float[] textVector;

  private Point(String id) {
    this.id = Objects.requireNonNull(id, "id");
  }

  /**
   * A point with this id (1 to 256 bytes of UTF-8, chosen by the client).
   *
   * @param id the point's id
   * @return a point to fill in
   */
  public static Point of(String id) {
    return new Point(id);
  }

  /**
   * A point with this number as its id (ids are strings on the server).
   *
   * @param id the point's id
   * @return a point to fill in
   */
  public static Point of(long id) {
    return new Point(Long.toString(id));
  }

  /**
   * The raw vector, of the collection's dimension.
   *
   * @param vector the components (copied)
   * @return this point
   */
  public Point vector(float... vector) {
    this.vector = vector.clone();
    return this;
  }

  /**
   * A caption for the server to embed (CLIP collections).
   *
   * @param text the caption
   * @return this point
   */
  public Point text(String text) {
    this.text = text;
    return this;
  }

  /**
   * An encoded image (JPEG, PNG, WebP, GIF, BMP) for the server to embed
   * (CLIP collections).
   *
   * @param image the encoded image (copied)
   * @return this point
   */
  public Point image(byte[] image) {
    this.image = image.clone();
    return this;
  }

  /**
   * An image file for the server to embed (CLIP collections).
   *
   * @param file the image file, read now
   * @return this point
   * @throws UncheckedIOException if the file cannot be read
   */
  public Point image(Path file) {
    try {
      this.image = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read image " + file, e);
    }
    return this;
  }

  /**
   * The payload: string keys; values null, Boolean, Number, String, Map, List
   * or arrays, nested at most 32 levels.
   *
   * @param payload the payload (converted when the point is sent)
   * @return this point
   */
  public Point payload(Map<String, ?> payload) {
    this.payload = payload;
    return this;
  }

  /**
   * A precomputed caption vector of the model's dimension (CLIP collections).
   *
   * @param textVector the components (copied)
   * @return this point
   */
  public Point textVector(float... textVector) {
    this.textVector = textVector.clone();
    return this;
  }

  /**
   * The point's id.
   *
   * @return the id
   */
  public String id() {
    return id;
  }

  /** The point as the proto message the server takes. */
  io.clipdb.v1.Point toProto() {
    io.clipdb.v1.Point.Builder b = io.clipdb.v1.Point.newBuilder().setId(id);
    if (vector != null) {
      b.addAllVector(Values.toList(vector));
    }
    if (text != null) {
      b.setText(text);
    }
    if (image != null) {
      b.setImage(com.google.protobuf.ByteString.copyFrom(image));
    }
    if (payload != null) {
      try {
        b.setPayload(Values.toStruct(payload));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("point `" + id + "`: " + e.getMessage(), e);
      }
    }
    if (textVector != null) {
      b.addAllTextVector(Values.toList(textVector));
    }
    return b.build();
  }

  @Override
  public String toString() {
    return "Point{id=" + id + "}";
  }
}
