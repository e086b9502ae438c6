package io.clipdb;

import io.grpc.Status;

/** The collection (or payload index of another type) already exists (gRPC status {@code ALREADY_EXISTS}). */
public class AlreadyExistsException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public AlreadyExistsException(Status status, Throwable cause) {
    super(status, cause);
  }
}
