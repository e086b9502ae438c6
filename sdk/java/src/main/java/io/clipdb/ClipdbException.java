package io.clipdb;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * A failed clipdb call. Every call of {@link ClipdbClient} throws a subclass
 * per gRPC status ({@link InvalidArgumentException}, {@link NotFoundException},
 * {@link UnavailableException}, ...); {@link #getMessage()} is the server's
 * message, which names the offending point id or field, and {@link #getStatus()}
 * the gRPC status it came with.
 */
public class ClipdbException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Status status;

  /**
   * An exception for {@code status}, whose description is the message.
   *
   * @param status the call's status (not OK)
   * @param cause the gRPC exception, or null
   */
  public ClipdbException(Status status, Throwable cause) {
    super(messageOf(status), cause);
    this.status = status;
  }

  // the server's message as it is; for failures on this side (no connection,
  // TLS) grpc's description ("io exception") plus what caused it
  private static String messageOf(Status status) {
    String description = status.getDescription();
    Throwable cause = status.getCause();
    String detail = cause == null ? null
        : cause.getMessage() != null ? cause.getMessage() : cause.getClass().getName();
    if (description == null || description.isEmpty()) {
      return detail != null ? detail : status.getCode().name();
    }
    return detail != null && !description.contains(detail) ? description + ": " + detail
        : description;
  }

  /**
   * The gRPC status the server (or the transport) answered with.
   *
   * @return the status, never OK
   */
  public Status getStatus() {
    return status;
  }

  /**
   * The gRPC status code, e.g. {@code INVALID_ARGUMENT}.
   *
   * @return the code
   */
  public Status.Code getCode() {
    return status.getCode();
  }

  @Override
  public String toString() {
    return getClass().getName() + " (" + status.getCode() + "): " + getMessage();
  }

  /**
   * The {@code ClipdbException} subclass for a failed gRPC call.
   *
   * @param status the call's status
   * @param cause the gRPC exception, or null
   * @return the exception to throw
   */
  public static ClipdbException of(Status status, Throwable cause) {
    switch (status.getCode()) {
      case CANCELLED: return new CancelledException(status, cause);
      case INVALID_ARGUMENT: return new InvalidArgumentException(status, cause);
      case DEADLINE_EXCEEDED: return new DeadlineExceededException(status, cause);
      case NOT_FOUND: return new NotFoundException(status, cause);
      case ALREADY_EXISTS: return new AlreadyExistsException(status, cause);
      case PERMISSION_DENIED: return new PermissionDeniedException(status, cause);
      case RESOURCE_EXHAUSTED: return new ResourceExhaustedException(status, cause);
      case FAILED_PRECONDITION: return new FailedPreconditionException(status, cause);
      case ABORTED: return new AbortedException(status, cause);
      case OUT_OF_RANGE: return new OutOfRangeException(status, cause);
      case UNIMPLEMENTED: return new UnimplementedException(status, cause);
      case INTERNAL: return new InternalException(status, cause);
      case UNAVAILABLE: return new UnavailableException(status, cause);
      case DATA_LOSS: return new DataLossException(status, cause);
      case UNAUTHENTICATED: return new UnauthenticatedException(status, cause);
      default: return new UnknownException(status, cause);
    }
  }

  /**
   * Converts any failure of a gRPC call: a {@link StatusRuntimeException}
   * becomes its subclass; a {@code ClipdbException} is returned as it is;
   * anything else becomes an {@link UnknownException}.
   *
   * @param error what the call failed with
   * @return the exception to throw
   */
  public static ClipdbException from(Throwable error) {
    if (error instanceof ClipdbException) {
      return (ClipdbException) error;
    }
    return of(Status.fromThrowable(error), error);
  }
}
