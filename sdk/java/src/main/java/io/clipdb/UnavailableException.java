package io.clipdb;

import io.grpc.Status;

/** The server cannot be reached, or a storage fault; retried for idempotent calls (gRPC status {@code UNAVAILABLE}). */
public class UnavailableException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public UnavailableException(Status status, Throwable cause) {
    super(status, cause);
  }
}
