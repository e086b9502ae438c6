package clipdb

import (
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/clipdb/clipdb/sdk/go/gen/clipdb/v1"
)

// Messages of the generated package that are already plain Go structs are
// used as they are, under these names.
type (
	// CreateCollectionRequest configures a new collection. With Dimension 0
	// and Vectorizer left at VectorizerNone it becomes a CLIP collection of
	// the server model's dimension (the server embeds text and images).
	CreateCollectionRequest = pb.CreateCollectionRequest
	// CollectionInfo is a collection's configuration and statistics.
	CollectionInfo = pb.CollectionInfo
	// HnswConfig holds graph parameters; 0 means the server default.
	HnswConfig = pb.HnswConfig
	// FusionWeights weighs a point's image and caption vectors at query time:
	// {Image: 1} searches images only, {Text: 1} captions only.
	FusionWeights = pb.FusionWeights
	// SnapshotInfo describes one snapshot file on the server.
	SnapshotInfo = pb.SnapshotInfo
	// PayloadIndexInfo describes one payload index.
	PayloadIndexInfo = pb.PayloadIndexInfo

	// Metric measures similarity: MetricCosine, MetricDot, MetricL2.
	Metric = pb.Metric
	// Vectorizer says who turns points into vectors: VectorizerNone (the
	// client) or VectorizerCLIP (the server's model).
	Vectorizer = pb.Vectorizer
	// Quantization of sealed segments' graph walk: QuantizationDefault (the
	// zero value: the server's --default-quantization, int8 unless changed),
	// QuantizationInt8 or QuantizationF32. CollectionInfo reports Int8 or F32.
	Quantization = pb.Quantization
	// PayloadIndexType is the value type a payload index holds.
	PayloadIndexType = pb.PayloadIndexType
)

const (
	MetricCosine = pb.Metric_METRIC_COSINE // cosine similarity (the default), higher is closer
	MetricDot    = pb.Metric_METRIC_DOT    // inner product, higher is closer
	MetricL2     = pb.Metric_METRIC_L2     // Euclidean distance, lower is closer

	VectorizerNone = pb.Vectorizer_VECTORIZER_NONE // the client sends vectors
	VectorizerCLIP = pb.Vectorizer_VECTORIZER_CLIP // the server embeds text and images

	QuantizationDefault = pb.Quantization_QUANTIZATION_NONE // unset: the server's default
	QuantizationInt8    = pb.Quantization_QUANTIZATION_INT8 // int8 codes for the walk, exact f32 rescoring
	QuantizationF32     = pb.Quantization_QUANTIZATION_F32  // the walk reads the f32 vectors
	// Deprecated: QuantizationNone is the unset value, the server's default
	// (int8 unless changed); it no longer means f32. Use QuantizationDefault,
	// or QuantizationF32 for f32.
	QuantizationNone = QuantizationDefault

	PayloadIndexKeyword = pb.PayloadIndexType_PAYLOAD_INDEX_KEYWORD
	PayloadIndexInteger = pb.PayloadIndexType_PAYLOAD_INDEX_INTEGER
	PayloadIndexFloat   = pb.PayloadIndexType_PAYLOAD_INDEX_FLOAT
	PayloadIndexBool    = pb.PayloadIndexType_PAYLOAD_INDEX_BOOL
)

// Point is what Upsert writes: an id and a raw Vector, or for CLIP
// collections an Image (encoded JPEG, PNG, WebP, GIF or BMP) and/or a
// caption (Text, or a precomputed TextVector), which the server embeds.
type Point struct {
	// ID is chosen by the client: 1 to 256 bytes.
	ID         string
	Vector     []float32
	Text       string
	Image      []byte
	TextVector []float32
	// Payload is any JSON-like map (values as for structpb.NewValue: strings,
	// numbers, bools, nil, []any, map[string]any); usable in filters.
	Payload map[string]any
}

func (p *Point) proto() (*pb.Point, error) {
	out := &pb.Point{Id: p.ID, Vector: p.Vector, Text: p.Text, Image: p.Image, TextVector: p.TextVector}
	if p.Payload != nil {
		s, err := structpb.NewStruct(p.Payload)
		if err != nil {
			return nil, invalid("Upsert", "point `%s`: payload: %v", p.ID, err)
		}
		out.Payload = s
	}
	return out, nil
}

// Record is a stored point as Get and Scroll return it. Numbers in Payload
// are float64, as in encoding/json.
type Record struct {
	ID      string
	Payload map[string]any
	// Vector is the stored vector (with vectors requested); for CLIP points
	// the image vector if any, else the caption vector.
	Vector []float32
	// TextVector is a CLIP point's caption vector (with vectors requested).
	TextVector []float32
}

func record(p *pb.Point) Record {
	return Record{ID: p.GetId(), Payload: p.GetPayload().AsMap(), Vector: p.GetVector(),
		TextVector: p.GetTextVector()}
}

// Hit is one search result. Score is a similarity (cosine, dot: higher is
// closer) or a distance (L2: lower is closer); hits come best first.
type Hit struct {
	ID      string
	Score   float32
	Payload map[string]any
	Vector  []float32
}

func hits(resp *pb.SearchResponse) []Hit {
	out := make([]Hit, 0, len(resp.GetHits()))
	for _, h := range resp.GetHits() {
		out = append(out, Hit{ID: h.GetId(), Score: h.GetScore(), Payload: h.GetPayload().AsMap(),
			Vector: h.GetVector()})
	}
	return out
}
