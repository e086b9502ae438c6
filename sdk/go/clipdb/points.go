package clipdb

import (
	"context"
	"errors"
	"io"
	"iter"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/clipdb/clipdb/sdk/go/gen/clipdb/v1"
)

const (
	// DefaultBatchSize is how many points Upsert and UpsertStream send per
	// request (or stream message) unless WithBatchSize says otherwise.
	DefaultBatchSize = 256
	// batchBytes keeps one request well under the server's default message
	// limit (64 MiB) whatever the images weigh.
	batchBytes = 8 << 20
)

// An UpsertOption tunes Upsert and UpsertStream.
type UpsertOption func(*upsertConfig)

type upsertConfig struct {
	batchSize int
	progress  func(sent int)
}

// WithBatchSize sets the points per request (default DefaultBatchSize); a
// batch is also cut at about 8 MiB.
func WithBatchSize(n int) UpsertOption { return func(u *upsertConfig) { u.batchSize = n } }

// WithProgress calls fn with the number of points sent so far after each
// batch (for Upsert: each batch written).
func WithProgress(fn func(sent int)) UpsertOption {
	return func(u *upsertConfig) { u.progress = fn }
}

func upsertOptions(opts []UpsertOption) upsertConfig {
	u := upsertConfig{batchSize: DefaultBatchSize}
	for _, o := range opts {
		o(&u)
	}
	if u.batchSize < 1 {
		u.batchSize = DefaultBatchSize
	}
	return u
}

// batches yields UpsertRequests of at most batchSize points and about
// batchBytes, or the error of a point that cannot be encoded.
func batches(collection string, points iter.Seq[Point], batchSize int) iter.Seq2[*pb.UpsertRequest, error] {
	return func(yield func(*pb.UpsertRequest, error) bool) {
		req := &pb.UpsertRequest{Collection: collection}
		size := 0
		for p := range points {
			pp, err := p.proto()
			if err != nil {
				yield(nil, err)
				return
			}
			n := proto.Size(pp)
			if len(req.Points) > 0 && (len(req.Points) >= batchSize || size+n > batchBytes) {
				if !yield(req, nil) {
					return
				}
				req, size = &pb.UpsertRequest{Collection: collection}, 0
			}
			req.Points = append(req.Points, pp)
			size += n
		}
		if len(req.Points) > 0 {
			yield(req, nil)
		}
	}
}

// Upsert inserts or replaces points (by id), in batches of WithBatchSize
// points. Each batch is all or nothing and durable when acknowledged, and
// retried on UNAVAILABLE / RESOURCE_EXHAUSTED. It returns the points
// written; on an error, those of the batches before the failing one.
func (c *Client) Upsert(ctx context.Context, collection string, points []Point, opts ...UpsertOption) (uint64, error) {
	u := upsertOptions(opts)
	var written uint64
	sent := 0
	for req, err := range batches(collection, slices.Values(points), u.batchSize) {
		if err != nil {
			return written, err
		}
		resp, err := call(ctx, c, "Upsert", true, c.points.Upsert, req)
		if err != nil {
			return written, err
		}
		written += resp.GetUpserted()
		sent += len(req.Points)
		if u.progress != nil {
			u.progress(sent)
		}
	}
	return written, nil
}

// UpsertStream bulk-loads points over one streaming call, reading them from
// any iterator (slices.Values(points), or a generator reading files): batches
// are applied and made durable in order. On an error the stream stops and
// the batches before the failing one stay stored; it is not retried. It
// returns the points written, or 0 and the error.
func (c *Client) UpsertStream(ctx context.Context, collection string, points iter.Seq[Point], opts ...UpsertOption) (uint64, error) {
	u := upsertOptions(opts)
	actx, cancelAttempt := c.attemptContext(ctx)
	defer cancelAttempt()
	sctx, cancel := context.WithCancel(actx)
	defer cancel()
	stream, err := c.points.UpsertStream(sctx)
	if err != nil {
		return 0, newError("UpsertStream", err)
	}
	sent := 0
	for req, err := range batches(collection, points, u.batchSize) {
		if err != nil {
			return 0, err // cancel() aborts the stream: nothing more is applied
		}
		if err := stream.Send(req); err != nil {
			if errors.Is(err, io.EOF) {
				break // the server ended the stream: CloseAndRecv has its status
			}
			return 0, newError("UpsertStream", err)
		}
		sent += len(req.Points)
		if u.progress != nil {
			u.progress(sent)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return 0, newError("UpsertStream", err)
	}
	return resp.GetUpserted(), nil
}

// Get fetches points by id, in the order asked; missing ids are left out.
func (c *Client) Get(ctx context.Context, collection string, ids ...string) ([]Record, error) {
	return c.get(ctx, collection, ids, false)
}

// GetWithVectors is Get with the stored vectors.
func (c *Client) GetWithVectors(ctx context.Context, collection string, ids ...string) ([]Record, error) {
	return c.get(ctx, collection, ids, true)
}

func (c *Client) get(ctx context.Context, collection string, ids []string, withVector bool) ([]Record, error) {
	resp, err := call(ctx, c, "Get", true, c.points.Get,
		&pb.GetRequest{Collection: collection, Ids: ids, WithVector: withVector})
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(resp.GetPoints()))
	for _, p := range resp.GetPoints() {
		out = append(out, record(p))
	}
	return out, nil
}

// Delete deletes points by id (missing ids are ignored) and returns how
// many existed.
func (c *Client) Delete(ctx context.Context, collection string, ids ...string) (uint64, error) {
	resp, err := call(ctx, c, "Delete", true, c.points.Delete,
		&pb.DeleteRequest{Collection: collection, Ids: ids})
	return resp.GetDeleted(), err
}

// DeleteWhere deletes every point matching filter, atomically, and returns
// how many.
func (c *Client) DeleteWhere(ctx context.Context, collection string, filter *Filter) (uint64, error) {
	if filter == nil {
		return 0, invalid("DeleteWhere", "a filter is required (Delete deletes by id)")
	}
	f, err := filter.Proto()
	if err != nil {
		return 0, err
	}
	resp, err := call(ctx, c, "Delete", true, c.points.Delete,
		&pb.DeleteRequest{Collection: collection, Filter: f})
	return resp.GetDeleted(), err
}

// Count counts the points of a collection, or exactly those matching filter
// (nil: all).
func (c *Client) Count(ctx context.Context, collection string, filter *Filter) (uint64, error) {
	f, err := filter.Proto()
	if err != nil {
		return 0, err
	}
	resp, err := call(ctx, c, "Count", true, c.points.Count,
		&pb.CountRequest{Collection: collection, Filter: f})
	return resp.GetCount(), err
}

// ScrollRequest selects the points Scroll returns.
type ScrollRequest struct {
	Collection string
	// Filter: only matching points (nil: all).
	Filter *Filter
	// PageSize is the points fetched per call (0: 100).
	PageSize uint32
	// WithoutPayload leaves payloads out (they are returned by default).
	WithoutPayload bool
	WithVector     bool
}

// Scroll iterates over every point (matching the filter) in id order,
// fetching pages as it goes; an error ends the iteration:
//
//	for rec, err := range db.Scroll(ctx, &clipdb.ScrollRequest{Collection: "photos"}) {
//		if err != nil { return err }
//		...
//	}
func (c *Client) Scroll(ctx context.Context, req *ScrollRequest) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		if req == nil {
			yield(Record{}, invalid("Scroll", "nil request"))
			return
		}
		f, err := req.Filter.Proto()
		if err != nil {
			yield(Record{}, err)
			return
		}
		preq := &pb.ScrollRequest{Collection: req.Collection, Filter: f, Limit: req.PageSize,
			WithPayload: !req.WithoutPayload, WithVector: req.WithVector}
		for {
			resp, err := call(ctx, c, "Scroll", true, c.points.Scroll, preq)
			if err != nil {
				yield(Record{}, err)
				return
			}
			for _, p := range resp.GetPoints() {
				if !yield(record(p), nil) {
					return
				}
			}
			if resp.GetNextPageToken() == "" {
				return
			}
			preq = proto.Clone(preq).(*pb.ScrollRequest)
			preq.PageToken = resp.GetNextPageToken()
		}
	}
}

// SetPayloadRequest updates payloads without touching vectors: of the points
// with IDs, or of every point matching Filter (one of the two).
type SetPayloadRequest struct {
	Collection string
	IDs        []string
	Filter     *Filter
	// Payload is merged in at the top level (a key given replaces the
	// point's value for it), or with Replace substituted for the payload.
	Payload map[string]any
	Replace bool
}

// SetPayload merges (or replaces) payloads and returns how many points were
// updated.
func (c *Client) SetPayload(ctx context.Context, req *SetPayloadRequest) (uint64, error) {
	if req == nil {
		return 0, invalid("SetPayload", "nil request")
	}
	f, err := req.Filter.Proto()
	if err != nil {
		return 0, err
	}
	payload, err := structpb.NewStruct(req.Payload)
	if err != nil {
		return 0, invalid("SetPayload", "payload: %v", err)
	}
	resp, err := call(ctx, c, "SetPayload", true, c.points.SetPayload, &pb.SetPayloadRequest{
		Collection: req.Collection, Ids: req.IDs, Filter: f, Payload: payload, Replace: req.Replace})
	return resp.GetUpdated(), err
}

// DeletePayloadKeysRequest removes payload keys (top-level or dotted) from
// the points with IDs, or every point matching Filter (one of the two).
type DeletePayloadKeysRequest struct {
	Collection string
	IDs        []string
	Filter     *Filter
	Keys       []string
}

// DeletePayloadKeys removes payload keys and returns how many points were
// updated.
func (c *Client) DeletePayloadKeys(ctx context.Context, req *DeletePayloadKeysRequest) (uint64, error) {
	if req == nil {
		return 0, invalid("DeletePayloadKeys", "nil request")
	}
	f, err := req.Filter.Proto()
	if err != nil {
		return 0, err
	}
	resp, err := call(ctx, c, "DeletePayloadKeys", true, c.points.DeletePayloadKeys,
		&pb.DeletePayloadKeysRequest{Collection: req.Collection, Ids: req.IDs, Filter: f, Keys: req.Keys})
	return resp.GetUpdated(), err
}

// EmbedText embeds texts with the server's CLIP model: one L2-normalised
// vector per text, in order (texts are truncated to the model's context).
func (c *Client) EmbedText(ctx context.Context, texts ...string) ([][]float32, error) {
	resp, err := call(ctx, c, "EmbedText", true, c.embeddings.EmbedText, &pb.EmbedTextRequest{Texts: texts})
	return embeddings(resp), err
}

// EmbedImage embeds encoded images (JPEG, PNG, WebP, GIF, BMP): one
// L2-normalised vector per image, in order.
func (c *Client) EmbedImage(ctx context.Context, images ...[]byte) ([][]float32, error) {
	resp, err := call(ctx, c, "EmbedImage", true, c.embeddings.EmbedImage, &pb.EmbedImageRequest{Images: images})
	return embeddings(resp), err
}

func embeddings(resp *pb.EmbedResponse) [][]float32 {
	if resp == nil {
		return nil
	}
	out := make([][]float32, 0, len(resp.GetEmbeddings()))
	for _, v := range resp.GetEmbeddings() {
		out = append(out, v.GetValues())
	}
	return out
}
