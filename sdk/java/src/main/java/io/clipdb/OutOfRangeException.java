package io.clipdb;

import io.grpc.Status;

/** A value out of range (gRPC status {@code OUT_OF_RANGE}). */
public class OutOfRangeException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public OutOfRangeException(Status status, Throwable cause) {
    super(status, cause);
  }
}
