package clipdb_test

// Retries, against an in-process gRPC server on a loopback port that fails on
// purpose: the real server cannot be made to answer UNAVAILABLE on demand.

import (
	"context"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clipdb/clipdb/sdk/go/clipdb"
	pb "github.com/clipdb/clipdb/sdk/go/gen/clipdb/v1"
)

// flaky fails the first `failures` calls of each method with `code`.
type flaky struct {
	pb.UnimplementedPointsServer
	failures int
	code     codes.Code
	mu       sync.Mutex
	calls    []string
}

func (f *flaky) fail(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, method)
	if n := len(slices.DeleteFunc(slices.Clone(f.calls), func(c string) bool { return c != method })); n <= f.failures {
		return status.Errorf(f.code, "try again (%s)", method)
	}
	return nil
}

func (f *flaky) Count(ctx context.Context, _ *pb.CountRequest) (*pb.CountResponse, error) {
	if err := f.fail("Count"); err != nil {
		return nil, err
	}
	return &pb.CountResponse{Count: 7}, nil
}

func (f *flaky) UpsertStream(stream pb.Points_UpsertStreamServer) error {
	n := 0
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		n += len(req.GetPoints())
	}
	if err := f.fail("UpsertStream"); err != nil {
		return err
	}
	return stream.SendAndClose(&pb.UpsertResponse{Upserted: uint64(n)})
}

func (f *flaky) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func serveFlaky(t *testing.T, f *flaky) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	pb.RegisterPointsServer(s, f)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

var fast = clipdb.RetryPolicy{MaxAttempts: 4, InitialBackoff: 10 * time.Millisecond,
	MaxBackoff: 50 * time.Millisecond, Multiplier: 2,
	Codes: []codes.Code{codes.Unavailable, codes.ResourceExhausted}}

func TestIdempotentCallsAreRetried(t *testing.T) {
	for _, code := range []codes.Code{codes.Unavailable, codes.ResourceExhausted} {
		t.Run(code.String(), func(t *testing.T) {
			f := &flaky{failures: 2, code: code}
			addr := serveFlaky(t, f)
			db := dial(t, addr, clipdb.WithRetry(fast))
			if n := must(db.Count(ctx, "c", nil)).ok(t); n != 7 {
				t.Errorf("count %d", n)
			}
			if got := f.callLog(); !slices.Equal(got, []string{"Count", "Count", "Count"}) {
				t.Errorf("calls %v, want three Counts", got)
			}
			// streams are not retried: the error surfaces with the server's message
			_, err := db.UpsertStream(ctx, "c", slices.Values([]clipdb.Point{{ID: "a", Vector: []float32{1}}}))
			if st, _ := status.FromError(err); st.Code() != code || st.Message() != "try again (UpsertStream)" {
				t.Errorf("stream: %v, want %v with the server's message", err, code)
			}

			none := dial(t, addr, clipdb.WithRetry(clipdb.NoRetry))
			f.mu.Lock()
			f.calls, f.failures = nil, 1
			f.mu.Unlock()
			if _, err := none.Count(ctx, "c", nil); clipdb.Code(err) != code {
				t.Errorf("NoRetry: %v, want %v", err, code)
			}
			if got := f.callLog(); len(got) != 1 {
				t.Errorf("NoRetry made %d calls", len(got))
			}
		})
	}
}

func TestRetriesGiveUpAfterMaxAttempts(t *testing.T) {
	f := &flaky{failures: 10, code: codes.Unavailable}
	db := dial(t, serveFlaky(t, f), clipdb.WithRetry(fast))
	_, err := db.Count(ctx, "c", nil)
	if !clipdb.IsUnavailable(err) || status.Convert(err).Message() != "try again (Count)" {
		t.Errorf("%v, want Unavailable: try again (Count)", err)
	}
	if n := len(f.callLog()); n != fast.MaxAttempts {
		t.Errorf("%d attempts, want %d", n, fast.MaxAttempts)
	}
}

func TestNothingListening(t *testing.T) {
	// port 1 on loopback: connection refused
	db := dial(t, "127.0.0.1:1", clipdb.WithRetry(fast), clipdb.WithTimeout(5*time.Second))
	if _, err := db.ListCollections(ctx); !clipdb.IsUnavailable(err) {
		t.Errorf("%v, want Unavailable", err)
	}
	bctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := clipdb.Dial(bctx, "127.0.0.1:1", clipdb.WithBlock()); !clipdb.IsUnavailable(err) {
		t.Errorf("Dial WithBlock: %v, want Unavailable", err)
	}
}

func TestRetryPolicyDelay(t *testing.T) {
	p := clipdb.DefaultRetryPolicy()
	for attempt := range p.MaxAttempts - 1 {
		d, ok := p.Delay(attempt, codes.Unavailable)
		full := min(p.MaxBackoff, time.Duration(float64(p.InitialBackoff)*float64(int(1)<<attempt)))
		if !ok || d < full/2 || d > full {
			t.Errorf("attempt %d: %v %v, want within [%v, %v]", attempt, d, ok, full/2, full)
		}
	}
	if _, ok := p.Delay(p.MaxAttempts-1, codes.Unavailable); ok {
		t.Error("retries past MaxAttempts")
	}
	if _, ok := p.Delay(0, codes.InvalidArgument); ok {
		t.Error("retries InvalidArgument")
	}
	if _, ok := clipdb.NoRetry.Delay(0, codes.Unavailable); ok {
		t.Error("NoRetry retries")
	}
}

func TestRetriesStopWhenTheContextEnds(t *testing.T) {
	f := &flaky{failures: 1000, code: codes.Unavailable}
	slow := clipdb.RetryPolicy{MaxAttempts: 1000, InitialBackoff: 20 * time.Millisecond,
		MaxBackoff: 20 * time.Millisecond, Multiplier: 1, Codes: []codes.Code{codes.Unavailable}}
	db := dial(t, serveFlaky(t, f), clipdb.WithRetry(slow))
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		for len(f.callLog()) < 3 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := db.Count(cctx, "c", nil)
	if !clipdb.IsUnavailable(err) && clipdb.Code(err) != codes.Canceled {
		t.Errorf("%v, want the last failure or Canceled", err)
	}
	if n := len(f.callLog()); n < 3 || n >= slow.MaxAttempts {
		t.Errorf("%d attempts: the retries did not stop with the context", n)
	}
}
