/**
 * The Java client of clipdb, a vector database for text-to-image search with
 * CLIP. Start with {@link io.clipdb.ClipdbClient#builder()}. The generated
 * messages and gRPC stubs are in {@code io.clipdb.v1}.
 */
package io.clipdb;
