package io.clipdb;

import io.grpc.Status;

/** An error without a more specific status (gRPC status {@code UNKNOWN}). */
public class UnknownException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public UnknownException(Status status, Throwable cause) {
    super(status, cause);
  }
}
