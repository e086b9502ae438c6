package io.clipdb;

import io.grpc.Status;

/** A missing collection, snapshot or payload index (gRPC status {@code NOT_FOUND}). */
public class NotFoundException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public NotFoundException(Status status, Throwable cause) {
    super(status, cause);
  }
}
