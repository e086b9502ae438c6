package clipdb

import (
	"context"
	"fmt"
	"strings"

	pb "github.com/clipdb/clipdb/sdk/go/gen/clipdb/v1"
)

// SearchRequest is one nearest-neighbour search. Set exactly one of Vector,
// Text, Image and ID (a stored point: "more like this", itself left out).
type SearchRequest struct {
	Collection string
	// Vector is a raw query vector of the collection's dimension.
	Vector []float32
	// Text is embedded with CLIP (CLIP collections).
	Text string
	// Image is an encoded image embedded with CLIP (CLIP collections).
	Image []byte
	// ID searches with the stored vector of this point.
	ID string

	// Limit is the number of hits (0: 10; at most 10000).
	Limit uint32
	// Ef is the candidate list size (0: the collection's ef_search).
	Ef uint32
	// Filter: only matching points (nil: all).
	Filter *Filter
	// Fusion weighs image and caption vectors for this query (CLIP
	// collections; nil: the collection's weights).
	Fusion *FusionWeights
	// WithoutPayload leaves payloads out of hits (they are attached by default).
	WithoutPayload bool
	// WithVector attaches stored vectors to hits.
	WithVector bool
	// ScoreThreshold leaves out hits worse than this score (nil: none).
	ScoreThreshold *float32
	// Offset skips this many best hits (paging).
	Offset uint32
	// PayloadFields returns only these payload keys (empty: all).
	PayloadFields []string
}

func (r *SearchRequest) proto(op string) (*pb.SearchRequest, error) {
	if r == nil {
		return nil, invalid(op, "nil search request")
	}
	out := &pb.SearchRequest{Collection: r.Collection, Limit: r.Limit, Ef: r.Ef, Fusion: r.Fusion,
		WithPayload: !r.WithoutPayload, WithVector: r.WithVector, ScoreThreshold: r.ScoreThreshold,
		Offset: r.Offset, PayloadFields: r.PayloadFields}
	var given []string
	if r.Vector != nil {
		given = append(given, "Vector")
		out.Query = &pb.SearchRequest_Vector{Vector: &pb.Vector{Values: r.Vector}}
	}
	if r.Text != "" {
		given = append(given, "Text")
		out.Query = &pb.SearchRequest_Text{Text: r.Text}
	}
	if r.Image != nil {
		given = append(given, "Image")
		out.Query = &pb.SearchRequest_Image{Image: r.Image}
	}
	if r.ID != "" {
		given = append(given, "ID")
		out.Query = &pb.SearchRequest_Id{Id: r.ID}
	}
	if len(given) != 1 {
		got := "none"
		if len(given) > 0 {
			got = strings.Join(given, ", ")
		}
		return nil, invalid(op, "a search needs exactly one of Vector, Text, Image, ID (got %s)", got)
	}
	f, err := r.Filter.Proto()
	if err != nil {
		return nil, err
	}
	out.Filter = f
	return out, nil
}

// Search finds the nearest neighbours of a vector, text, image or stored
// point, best first.
func (c *Client) Search(ctx context.Context, req *SearchRequest) ([]Hit, error) {
	preq, err := req.proto("Search")
	if err != nil {
		return nil, err
	}
	resp, err := call(ctx, c, "Search", true, c.points.Search, preq)
	if err != nil {
		return nil, err
	}
	return hits(resp), nil
}

// SearchBatch runs many searches in one call (up to 1024; each names its
// own collection), concurrently on the server; results in request order. If
// any fails the call fails, its message starting with `searches[i]`.
func (c *Client) SearchBatch(ctx context.Context, reqs []*SearchRequest) ([][]Hit, error) {
	preq := &pb.SearchBatchRequest{}
	for i, r := range reqs {
		p, err := r.proto(fmt.Sprintf("SearchBatch: searches[%d]", i))
		if err != nil {
			return nil, err
		}
		preq.Searches = append(preq.Searches, p)
	}
	resp, err := call(ctx, c, "SearchBatch", true, c.points.SearchBatch, preq)
	if err != nil {
		return nil, err
	}
	out := make([][]Hit, 0, len(resp.GetResults()))
	for _, r := range resp.GetResults() {
		out = append(out, hits(r))
	}
	return out, nil
}

// RecommendRequest: "more like these, less like those", with examples given
// as stored point ids and/or raw vectors (at least one positive). Examples
// given by id are left out of the hits.
type RecommendRequest struct {
	Collection      string
	PositiveIDs     []string
	PositiveVectors [][]float32
	NegativeIDs     []string
	NegativeVectors [][]float32
	// As in SearchRequest.
	Limit          uint32
	Ef             uint32
	Filter         *Filter
	Fusion         *FusionWeights
	WithoutPayload bool
	WithVector     bool
	ScoreThreshold *float32
	Offset         uint32
	PayloadFields  []string
}

// Recommend searches with the mean of the positive examples pushed away from
// the mean of the negative ones, best first.
func (c *Client) Recommend(ctx context.Context, req *RecommendRequest) ([]Hit, error) {
	if req == nil {
		return nil, invalid("Recommend", "nil request")
	}
	f, err := req.Filter.Proto()
	if err != nil {
		return nil, err
	}
	vectors := func(vs [][]float32) []*pb.Vector {
		out := make([]*pb.Vector, 0, len(vs))
		for _, v := range vs {
			out = append(out, &pb.Vector{Values: v})
		}
		return out
	}
	resp, err := call(ctx, c, "Recommend", true, c.points.Recommend, &pb.RecommendRequest{
		Collection: req.Collection, PositiveIds: req.PositiveIDs, PositiveVectors: vectors(req.PositiveVectors),
		NegativeIds: req.NegativeIDs, NegativeVectors: vectors(req.NegativeVectors), Filter: f,
		Limit: req.Limit, Ef: req.Ef, WithPayload: !req.WithoutPayload, WithVector: req.WithVector,
		ScoreThreshold: req.ScoreThreshold, Offset: req.Offset, PayloadFields: req.PayloadFields,
		Fusion: req.Fusion})
	if err != nil {
		return nil, err
	}
	return hits(resp), nil
}
