package io.clipdb;

import io.grpc.Status;

/** The API key may not do this, e.g. a read-only key writing (gRPC status {@code PERMISSION_DENIED}). */
public class PermissionDeniedException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public PermissionDeniedException(Status status, Throwable cause) {
    super(status, cause);
  }
}
