package io.clipdb;

import io.grpc.Status;

/** The call was cancelled (gRPC status {@code CANCELLED}). */
public class CancelledException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public CancelledException(Status status, Throwable cause) {
    super(status, cause);
  }
}
