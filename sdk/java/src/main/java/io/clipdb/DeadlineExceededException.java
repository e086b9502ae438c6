package io.clipdb;

import io.grpc.Status;

/** The call's deadline passed before it finished (gRPC status {@code DEADLINE_EXCEEDED}). */
public class DeadlineExceededException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public DeadlineExceededException(Status status, Throwable cause) {
    super(status, cause);
  }
}
