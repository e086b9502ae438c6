package io.clipdb;

import io.grpc.Status;

/** Malformed input: the message names the point id or field (gRPC status {@code INVALID_ARGUMENT}). */
public class InvalidArgumentException extends ClipdbException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception for {@code status}.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   */
  public InvalidArgumentException(Status status, Throwable cause) {
    super(status, cause);
  }
}
