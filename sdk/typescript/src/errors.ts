/**
 * One error hierarchy for every failed call: `ClipdbError` and a subclass per
 * gRPC status code, carrying the server's message.
 */
import { ConnectError } from "@connectrpc/connect";

/** gRPC status codes (the numbers, and names, of @connectrpc/connect's Code). */
export enum Code {
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** "INVALID_ARGUMENT" for Code.InvalidArgument, as gRPC spells status codes. */
export function codeName(code: Code): string {
  return (Code[code] ?? "UNKNOWN").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()
    .replace("CANCELED", "CANCELLED");
}

/**
 * A failed clipdb call. `message` is the server's message (it names the
 * offending point id or field), `code` the gRPC status code; `cause` is the
 * underlying ConnectError, when there is one.
 */
export class ClipdbError extends Error {
  /** The status code of this class (a subclass's errors have it). */
  static readonly code: Code = Code.Unknown;
  readonly code: Code;

  constructor(message: string, code?: Code, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code ?? (new.target as typeof ClipdbError).code;
    this.name = new.target.name;
  }

  /** The status code as gRPC names it, e.g. "NOT_FOUND". */
  get codeName(): string {
    return codeName(this.code);
  }
}

export class Cancelled extends ClipdbError {
  static override readonly code = Code.Canceled;
}
export class Unknown extends ClipdbError {
  static override readonly code = Code.Unknown;
}
export class InvalidArgument extends ClipdbError {
  static override readonly code = Code.InvalidArgument;
}
export class DeadlineExceeded extends ClipdbError {
  static override readonly code = Code.DeadlineExceeded;
}
export class NotFound extends ClipdbError {
  static override readonly code = Code.NotFound;
}
export class AlreadyExists extends ClipdbError {
  static override readonly code = Code.AlreadyExists;
}
export class PermissionDenied extends ClipdbError {
  static override readonly code = Code.PermissionDenied;
}
export class ResourceExhausted extends ClipdbError {
  static override readonly code = Code.ResourceExhausted;
}
export class FailedPrecondition extends ClipdbError {
  static override readonly code = Code.FailedPrecondition;
}
export class Aborted extends ClipdbError {
  static override readonly code = Code.Aborted;
}
export class OutOfRange extends ClipdbError {
  static override readonly code = Code.OutOfRange;
}
export class Unimplemented extends ClipdbError {
  static override readonly code = Code.Unimplemented;
}
export class Internal extends ClipdbError {
  static override readonly code = Code.Internal;
}
export class Unavailable extends ClipdbError {
  static override readonly code = Code.Unavailable;
}
export class DataLoss extends ClipdbError {
  static override readonly code = Code.DataLoss;
}
export class Unauthenticated extends ClipdbError {
  static override readonly code = Code.Unauthenticated;
}

const byCode: Record<Code, new (message: string, code?: Code, options?: { cause?: unknown }) => ClipdbError> = {
  [Code.Canceled]: Cancelled,
  [Code.Unknown]: Unknown,
  [Code.InvalidArgument]: InvalidArgument,
  [Code.DeadlineExceeded]: DeadlineExceeded,
  [Code.NotFound]: NotFound,
  [Code.AlreadyExists]: AlreadyExists,
  [Code.PermissionDenied]: PermissionDenied,
  [Code.ResourceExhausted]: ResourceExhausted,
  [Code.FailedPrecondition]: FailedPrecondition,
  [Code.Aborted]: Aborted,
  [Code.OutOfRange]: OutOfRange,
  [Code.Unimplemented]: Unimplemented,
  [Code.Internal]: Internal,
  [Code.Unavailable]: Unavailable,
  [Code.DataLoss]: DataLoss,
  [Code.Unauthenticated]: Unauthenticated,
};

/** The ClipdbError subclass for a status code. */
export function errorFor(code: Code, message: string, cause?: unknown): ClipdbError {
  const cls = byCode[code] ?? ClipdbError;
  return new cls(message || codeName(code), code, cause === undefined ? undefined : { cause });
}

// Node's codes for failures to set up a connection that Connect reports as
// INTERNAL: TLS handshakes (an untrusted or mismatched certificate) and
// unreachable hosts. gRPC calls these UNAVAILABLE, as the other SDKs do.
const CONNECT_FAILURE = /^(ERR_TLS_|ERR_SSL_|EPROTO$|EHOSTUNREACH$|ENETUNREACH$|EHOSTDOWN$)|CERT|SIGNATURE|ISSUER/;

function connectionFailed(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECT_FAILURE.test(code)) return true;
  }
  return false;
}

/** Any error a call threw, as a ClipdbError (ClipdbErrors pass through). */
export function toClipdbError(error: unknown): ClipdbError {
  if (error instanceof ClipdbError) return error;
  const e = ConnectError.from(error);
  let code = e.code as number as Code;
  if (code === Code.Internal && connectionFailed(e)) code = Code.Unavailable;
  return errorFor(code, e.rawMessage, error);
}
