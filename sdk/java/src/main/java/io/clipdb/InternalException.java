package io.clipdb;

import io.grpc.Status;

/** An internal server error (gRPC status {@code INTERNAL}). */
public class InternalException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public InternalException(Status status, Throwable cause) {
    super(status, cause);
  }
}
