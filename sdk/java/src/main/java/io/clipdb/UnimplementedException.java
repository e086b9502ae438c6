package io.clipdb;

import io.grpc.Status;

/** The server does not implement this call (gRPC status {@code UNIMPLEMENTED}). */
public class UnimplementedException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public UnimplementedException(Status status, Throwable cause) {
    super(status, cause);
  }
}
