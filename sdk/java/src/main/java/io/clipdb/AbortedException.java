package io.clipdb;

import io.grpc.Status;

/** The operation was aborted (gRPC status {@code ABORTED}). */
public class AbortedException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public AbortedException(Status status, Throwable cause) {
    super(status, cause);
  }
}
