package io.clipdb;

import io.grpc.Status;

/** No API key, or a wrong one (gRPC status {@code UNAUTHENTICATED}). */
public class UnauthenticatedException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public UnauthenticatedException(Status status, Throwable cause) {
    super(status, cause);
  }
}
