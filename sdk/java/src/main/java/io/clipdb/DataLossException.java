package io.clipdb;

import io.grpc.Status;

/** Unrecoverable data loss or corruption (gRPC status {@code DATA_LOSS}). */
public class DataLossException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public DataLossException(Status status, Throwable cause) {
    super(status, cause);
  }
}
