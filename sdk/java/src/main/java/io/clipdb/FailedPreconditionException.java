package io.clipdb;

import io.grpc.Status;

/** Text or image input where no model is loaded, or the collection was filled by another model (gRPC status {@code FAILED_PRECONDITION}). */
public class FailedPreconditionException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public FailedPreconditionException(Status status, Throwable cause) {
    super(status, cause);
  }
}
