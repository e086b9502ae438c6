package clipdb

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
)

// RetryPolicy governs retries of idempotent calls (reads, Upsert, Delete,
// payload updates, CreatePayloadIndex) that fail with one of Codes, with
// exponential backoff and jitter. Creating and dropping collections and
// snapshots, and UpsertStream, are never retried.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 (or less) turns retries off.
	MaxAttempts int
	// InitialBackoff is the wait before the second attempt.
	InitialBackoff time.Duration
	// MaxBackoff caps every wait.
	MaxBackoff time.Duration
	// Multiplier grows the wait after each attempt.
	Multiplier float64
	// Codes are the status codes worth retrying.
	Codes []codes.Code
}

// DefaultRetryPolicy: 5 attempts, 100 ms doubling up to 5 s, on UNAVAILABLE
// and RESOURCE_EXHAUSTED.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:    5,
		InitialBackoff: 100 * time.Millisecond,
		MaxBackoff:     5 * time.Second,
		Multiplier:     2,
		Codes:          []codes.Code{codes.Unavailable, codes.ResourceExhausted},
	}
}

// NoRetry makes every call a single attempt.
var NoRetry = RetryPolicy{MaxAttempts: 1}

// Delay is the wait before attempt number attempt+1 (attempt counts from 0)
// after a failure with code, and false when the call should give up.
func (p RetryPolicy) Delay(attempt int, code codes.Code) (time.Duration, bool) {
	if attempt+1 >= p.MaxAttempts || !slices.Contains(p.Codes, code) {
		return 0, false
	}
	mult := p.Multiplier
	if mult < 1 {
		mult = 1
	}
	base := float64(p.InitialBackoff) * math.Pow(mult, float64(attempt))
	if p.MaxBackoff > 0 && base > float64(p.MaxBackoff) {
		base = float64(p.MaxBackoff)
	}
	// jitter in [base/2, base): clients failing together spread out
	return time.Duration(base * (0.5 + rand.Float64()/2)), true
}
