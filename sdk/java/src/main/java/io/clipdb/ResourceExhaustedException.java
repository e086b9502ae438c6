package io.clipdb;

import io.grpc.Status;

/** An oversized request or full queues; retried for idempotent calls (gRPC status {@code RESOURCE_EXHAUSTED}). */
public class ResourceExhaustedException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public ResourceExhaustedException(Status status, Throwable cause) {
    super(status, cause);
  }
}
