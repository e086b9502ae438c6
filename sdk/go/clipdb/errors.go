package clipdb

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a failed clipdb call: the gRPC status the server (or the client,
// for input it rejects before sending) returned, and the call it came from.
// status.FromError(err) and status.Code(err) see the original status, so the
// message is exactly the server's (it names the offending point id or field).
type Error struct {
	// Op is the call that failed, e.g. "Search".
	Op string
	// Code is the gRPC status code.
	Code codes.Code
	// Message is the server's message.
	Message string
	st      *status.Status
}

func (e *Error) Error() string {
	return fmt.Sprintf("clipdb: %s: %s: %s", e.Op, e.Code, e.Message)
}

// GRPCStatus makes status.FromError and status.Code work on an *Error.
func (e *Error) GRPCStatus() *status.Status {
	if e.st == nil {
		return status.New(e.Code, e.Message)
	}
	return e.st
}

// newError wraps a gRPC error (or any error, as UNKNOWN) as an *Error.
func newError(op string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	st := status.Convert(err)
	return &Error{Op: op, Code: st.Code(), Message: st.Message(), st: st}
}

// invalid is an INVALID_ARGUMENT error raised by the client before sending.
func invalid(op, format string, args ...any) error {
	st := status.Newf(codes.InvalidArgument, format, args...)
	return &Error{Op: op, Code: codes.InvalidArgument, Message: st.Message(), st: st}
}

// Code is the gRPC status code of err: codes.OK for nil, codes.Unknown for
// an error that carries no status.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return status.Code(err)
}

// IsNotFound: a missing collection, snapshot or payload index.
func IsNotFound(err error) bool { return Code(err) == codes.NotFound }

// IsInvalidArgument: malformed input (the message names the point id or field).
func IsInvalidArgument(err error) bool { return Code(err) == codes.InvalidArgument }

// IsAlreadyExists: the collection (or an index of another type) exists.
func IsAlreadyExists(err error) bool { return Code(err) == codes.AlreadyExists }

// IsFailedPrecondition: text or image input where no model is loaded, or
// the collection was embedded by another model.
func IsFailedPrecondition(err error) bool { return Code(err) == codes.FailedPrecondition }

// IsUnauthenticated: no API key, or an unknown one.
func IsUnauthenticated(err error) bool { return Code(err) == codes.Unauthenticated }

// IsPermissionDenied: a write with a read-only API key.
func IsPermissionDenied(err error) bool { return Code(err) == codes.PermissionDenied }

// IsUnavailable: the server cannot be reached, or a storage fault (retry later).
func IsUnavailable(err error) bool { return Code(err) == codes.Unavailable }

// IsResourceExhausted: an oversized request or a full queue.
func IsResourceExhausted(err error) bool { return Code(err) == codes.ResourceExhausted }
