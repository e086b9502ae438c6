package clipdb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/clipdb/clipdb/sdk/go/gen/clipdb/v1"
)

// DefaultAddress is where `clipdb serve` listens by default.
const DefaultAddress = "127.0.0.1:50051"

// Client is a connection to a clipdb server. It is safe for concurrent use;
// make one and share it. Close it when done.
type Client struct {
	conn        *grpc.ClientConn
	collections pb.CollectionsClient
	points      pb.PointsClient
	embeddings  pb.EmbeddingsClient
	timeout     time.Duration
	retry       RetryPolicy
}

type config struct {
	apiKey      string
	tls         bool
	tlsConfig   *tls.Config
	rootCAs     *x509.CertPool
	rootCAFile  string
	clientCerts []tls.Certificate
	timeout     time.Duration
	retry       RetryPolicy
	block       bool
	dialOptions []grpc.DialOption
}

// An Option configures Dial.
type Option func(*config)

// WithAPIKey sends key as the `x-api-key` header of every call.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithTLS connects over TLS. cfg may be nil: the system's root CAs verify the
// server. An "https://" address implies TLS too.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tls, c.tlsConfig = true, cfg }
}

// WithRootCAs connects over TLS and trusts these CAs (instead of the
// system's) to verify the server's certificate.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *config) { c.tls, c.rootCAs = true, pool }
}

// WithRootCAFile is WithRootCAs with the CAs read from a PEM file.
func WithRootCAFile(path string) Option {
	return func(c *config) { c.tls, c.rootCAFile = true, path }
}

// WithClientCertificate presents a client certificate (mutual TLS, for a
// server started with --tls-client-ca); implies TLS.
func WithClientCertificate(cert tls.Certificate) Option {
	return func(c *config) { c.tls, c.clientCerts = true, append(c.clientCerts, cert) }
}

// WithTimeout bounds each attempt of every call whose context has no
// earlier deadline. Zero (the default) means no bound.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithRetry sets the retry policy of idempotent calls (DefaultRetryPolicy
// unless given; NoRetry turns retries off).
func WithRetry(p RetryPolicy) Option { return func(c *config) { c.retry = p } }

// WithBlock makes Dial wait, within its context, until the connection is
// ready, and fail with UNAVAILABLE if it is not. By default Dial returns at
// once and connects on the first call.
func WithBlock() Option { return func(c *config) { c.block = true } }

// WithDialOptions passes extra options to grpc.NewClient (interceptors,
// keepalive, ...); they come after the client's own.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) { c.dialOptions = append(c.dialOptions, opts...) }
}

// Dial makes a client for the server at addr: "host:port", or
// "http://host:port" / "https://host:port" (https means TLS). Unless WithBlock
// is given it does not wait for the connection (ctx is then unused); a server
// that cannot be reached makes the calls fail with UNAVAILABLE.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	cfg := config{retry: DefaultRetryPolicy()}
	for _, o := range opts {
		o(&cfg)
	}
	target := addr
	switch {
	case strings.HasPrefix(addr, "https://"):
		target, cfg.tls = strings.TrimPrefix(addr, "https://"), true
	case strings.HasPrefix(addr, "http://"):
		target = strings.TrimPrefix(addr, "http://")
	}
	target = strings.TrimSuffix(target, "/")
	if target == "" {
		return nil, invalid("Dial", "empty server address")
	}

	creds, err := cfg.transportCredentials()
	if err != nil {
		return nil, err
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		// the server bounds request sizes itself (--max-message-bytes); large
		// responses (many hits with vectors) must not fail on the client.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32),
			grpc.MaxCallSendMsgSize(math.MaxInt32)),
	}
	if cfg.apiKey != "" {
		dialOpts = append(dialOpts,
			grpc.WithChainUnaryInterceptor(apiKeyUnary(cfg.apiKey)),
			grpc.WithChainStreamInterceptor(apiKeyStream(cfg.apiKey)))
	}
	dialOpts = append(dialOpts, cfg.dialOptions...)
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		return nil, newError("Dial", err)
	}
	c := &Client{
		conn:        conn,
		collections: pb.NewCollectionsClient(conn),
		points:      pb.NewPointsClient(conn),
		embeddings:  pb.NewEmbeddingsClient(conn),
		timeout:     cfg.timeout,
		retry:       cfg.retry,
	}
	if cfg.block {
		if err := waitReady(ctx, conn); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return c, nil
}

func (cfg *config) transportCredentials() (credentials.TransportCredentials, error) {
	if !cfg.tls {
		return insecure.NewCredentials(), nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.tlsConfig != nil {
		tc = cfg.tlsConfig.Clone()
	}
	if cfg.rootCAFile != "" {
		pem, err := os.ReadFile(cfg.rootCAFile)
		if err != nil {
			return nil, invalid("Dial", "reading root CAs: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, invalid("Dial", "no PEM certificate in %s", cfg.rootCAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.rootCAs != nil {
		tc.RootCAs = cfg.rootCAs
	}
	tc.Certificates = append(tc.Certificates, cfg.clientCerts...)
	return credentials.NewTLS(tc), nil
}

func waitReady(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		s := conn.GetState()
		if s == connectivity.Ready {
			return nil
		}
		if !conn.WaitForStateChange(ctx, s) {
			return &Error{Op: "Dial", Code: codes.Unavailable,
				Message: fmt.Sprintf("not connected to %s (%s): %v", conn.Target(), s, ctx.Err())}
		}
	}
}

func apiKeyUnary(key string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(metadata.AppendToOutgoingContext(ctx, "x-api-key", key), method, req, reply, cc, opts...)
	}
}

func apiKeyStream(key string) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
		streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(metadata.AppendToOutgoingContext(ctx, "x-api-key", key), desc, cc, method, opts...)
	}
}

// Close closes the connection; calls in flight fail with CANCELED.
func (c *Client) Close() error { return c.conn.Close() }

// Conn is the underlying gRPC connection, for the generated clients
// (clipdbv1.NewPointsClient(db.Conn())) when a call is not wrapped here.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// call runs one unary RPC, with the client's per-attempt timeout and, for an
// idempotent one, retries.
func call[Req, Resp any](ctx context.Context, c *Client, op string, idempotent bool,
	rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	for attempt := 0; ; attempt++ {
		actx, cancel := c.attemptContext(ctx)
		resp, err := rpc(actx, req)
		cancel()
		if err == nil {
			return resp, nil
		}
		code := Code(err)
		delay, again := c.retry.Delay(attempt, code)
		if !idempotent || !again || ctx.Err() != nil {
			var zero Resp
			return zero, newError(op, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			var zero Resp
			return zero, newError(op, err)
		case <-t.C:
		}
	}
}

func (c *Client) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout > 0 {
		return context.WithTimeout(ctx, c.timeout)
	}
	return ctx, func() {}
}
