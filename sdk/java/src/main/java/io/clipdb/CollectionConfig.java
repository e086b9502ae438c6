package io.clipdb;

import io.clipdb.v1.CreateCollectionRequest;
import io.clipdb.v1.FusionWeights;
import io.clipdb.v1.HnswConfig;
import io.clipdb.v1.Metric;
import io.clipdb.v1.Quantization;
import io.clipdb.v1.Vectorizer;

/**
 * A collection to create: raw vectors of a dimension ({@link #vectors}), or
 * text and images embedded by the server's CLIP model ({@link #clip}).
 *
 * <pre>{@code
 * db.createCollection(CollectionConfig.vectors("demo", 4).metric(Metric.METRIC_DOT));
 * db.createCollection(CollectionConfig.clip("photos").fusion(0.5f, 0.5f).quantization(Quantization.QUANTIZATION_INT8));
 * }</pre>
 *
 * <p>A builder: each setter returns it; not thread-safe while being built.
 */
public final class CollectionConfig {
  private final CreateCollectionRequest.Builder proto;

  private CollectionConfig(CreateCollectionRequest.Builder proto) {
    this.proto = proto;
  }

  /**
   * A collection of raw vectors (the client sends them).
   *
   * @param name the name, [A-Za-z0-9_-]{1,64}
   * @param dimension the vectors' dimension, 1 to 65536
   * @return the configuration
   */
  public static CollectionConfig vectors(String name, int dimension) {
    return new CollectionConfig(CreateCollectionRequest.newBuilder().setName(name)
        .setDimension(dimension).setVectorizer(Vectorizer.VECTORIZER_NONE));
  }

  /**
   * A CLIP collection: the server embeds text and images with its model, whose
   * dimension the collection takes.
   *
   * @param name the name, [A-Za-z0-9_-]{1,64}
   * @return the configuration
   */
  public static CollectionConfig clip(String name) {
    return new CollectionConfig(CreateCollectionRequest.newBuilder().setName(name)
        .setVectorizer(Vectorizer.VECTORIZER_CLIP));
  }

  /**
   * Similarity measure (default cosine).
   *
   * @param metric the metric
   * @return this configuration
   */
  public CollectionConfig metric(Metric metric) {
    proto.setMetric(metric);
    return this;
  }

  /**
   * HNSW graph parameters; 0 takes the server default.
   *
   * @param m neighbours per node and layer (default 16)
   * @param efConstruction candidate list size while building (default 200)
   * @param efSearch default candidate list size while searching (default 64)
   * @return this configuration
   */
  public CollectionConfig hnsw(int m, int efConstruction, int efSearch) {
    proto.setHnsw(HnswConfig.newBuilder().setM(m).setEfConstruction(efConstruction)
        .setEfSearch(efSearch));
    return this;
  }

  /**
   * Default fusion weights of image and caption similarity (CLIP collections;
   * default 0.5/0.5).
   *
   * @param image the image weight
   * @param text the caption weight
   * @return this configuration
   */
  public CollectionConfig fusion(float image, float text) {
    proto.setFusion(FusionWeights.newBuilder().setImage(image).setText(text));
    return this;
  }

  /**
   * Points per segment before it is sealed (0 = the server's default).
   *
   * @param capacity points per segment
   * @return this configuration
   */
  public CollectionConfig segmentCapacity(int capacity) {
    proto.setSegmentCapacity(capacity);
    return this;
  }

  /**
   * How sealed segments keep the vectors their graph walk reads: {@code
   * QUANTIZATION_INT8} (int8 codes, then exact f32 rescoring) or {@code
   * QUANTIZATION_F32}. Unset, or {@code QUANTIZATION_NONE} (the proto's
   * unset value, which no longer means f32), takes the server's {@code
   * --default-quantization}, int8 unless changed. {@code CollectionInfo}
   * reports INT8 or F32.
   *
   * @param quantization the quantization
   * @return this configuration
   */
  public CollectionConfig quantization(Quantization quantization) {
    proto.setQuantization(quantization);
    return this;
  }

  /**
   * The request the server takes.
   *
   * @return the proto request
   */
  public CreateCollectionRequest toProto() {
    return proto.build();
  }
}
