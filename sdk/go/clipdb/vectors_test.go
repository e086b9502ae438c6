package clipdb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/clipdb/clipdb/sdk/go/clipdb"
)

var ctx = context.Background()

var demoPoints = []clipdb.Point{
	{ID: "a", Vector: []float32{1, 0, 0, 0}, Payload: map[string]any{"colour": "red", "year": 2019}},
	{ID: "b", Vector: []float32{0, 1, 0, 0}, Payload: map[string]any{"colour": "blue", "year": 2021}},
	{ID: "c", Vector: []float32{1, 1, 0, 0}, Payload: map[string]any{"colour": "red", "year": 2023,
		"meta": map[string]any{"tags": []any{"x", "y"}}}},
}

// vectorCollection makes a 4-dimensional cosine collection holding demoPoints.
func vectorCollection(t *testing.T, db *clipdb.Client) string {
	t.Helper()
	name := collectionName()
	info, err := db.CreateCollection(ctx, &clipdb.CreateCollectionRequest{Name: name, Dimension: 4})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetName() != name || info.GetDimension() != 4 || info.GetMetric() != clipdb.MetricCosine ||
		info.GetVectorizer() != clipdb.VectorizerNone {
		t.Fatalf("created %v", info)
	}
	n, err := db.Upsert(ctx, name, demoPoints)
	if err != nil || n != 3 {
		t.Fatalf("upsert: %d, %v", n, err)
	}
	return name
}

func ids(hits []clipdb.Hit) []string {
	out := []string{}
	for _, h := range hits {
		out = append(out, h.ID)
	}
	return out
}

func recordIDs(recs []clipdb.Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

// must(db.Call(...)).ok(t) is the call's value, failing the test on an error.
func must[T any](v T, err error) result[T] { return result[T]{v, err} }

type result[T any] struct {
	v   T
	err error
}

func (r result[T]) ok(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func TestCollections(t *testing.T) {
	db := dial(t, demoServer(t))
	name := vectorCollection(t, db)
	info := must(db.GetCollection(ctx, name)).ok(t)
	if info.GetPointCount() != 3 {
		t.Errorf("point count %d, want 3", info.GetPointCount())
	}
	var names []string
	for _, c := range must(db.ListCollections(ctx)).ok(t) {
		names = append(names, c.GetName())
	}
	if !slices.Contains(names, name) {
		t.Errorf("%s not in %v", name, names)
	}
	if ok := must(db.CollectionExists(ctx, name)).ok(t); !ok {
		t.Error("CollectionExists: false for an existing collection")
	}
	_, err := db.CreateCollection(ctx, &clipdb.CreateCollectionRequest{Name: name, Dimension: 4})
	if !clipdb.IsAlreadyExists(err) {
		t.Errorf("creating it again: %v, want AlreadyExists", err)
	}
	if err := db.DeleteCollection(ctx, name); err != nil {
		t.Fatal(err)
	}
	_, err = db.GetCollection(ctx, name)
	if !clipdb.IsNotFound(err) || !strings.Contains(err.Error(), name) {
		t.Errorf("after delete: %v, want NotFound naming %s", err, name)
	}
	if ok := must(db.CollectionExists(ctx, name)).ok(t); ok {
		t.Error("CollectionExists: true after delete")
	}
}

// Explicit f32 and int8 are kept; the zero value is the server's default
// (int8 here); the reply and GetCollection report what the collection uses.
func TestQuantization(t *testing.T) {
	db := dial(t, demoServer(t))
	for _, c := range []struct{ asked, want clipdb.Quantization }{
		{clipdb.QuantizationF32, clipdb.QuantizationF32},
		{clipdb.QuantizationInt8, clipdb.QuantizationInt8},
		{clipdb.QuantizationDefault, clipdb.QuantizationInt8},
	} {
		name := collectionName()
		info := must(db.CreateCollection(ctx, &clipdb.CreateCollectionRequest{
			Name: name, Dimension: 4, Quantization: c.asked})).ok(t)
		if got := info.GetQuantization(); got != c.want {
			t.Errorf("asked %v: created with %v, want %v", c.asked, got, c.want)
		}
		if got := must(db.GetCollection(ctx, name)).ok(t).GetQuantization(); got != c.want {
			t.Errorf("asked %v: GetCollection reports %v, want %v", c.asked, got, c.want)
		}
	}
}

func TestSearchAndFilters(t *testing.T) {
	db := dial(t, demoServer(t))
	name := vectorCollection(t, db)
	search := func(req clipdb.SearchRequest) []clipdb.Hit {
		t.Helper()
		req.Collection = name
		return must(db.Search(ctx, &req)).ok(t)
	}
	check := func(what string, got []clipdb.Hit, want ...string) {
		t.Helper()
		if !slices.Equal(ids(got), want) {
			t.Errorf("%s: hits %v, want %v", what, ids(got), want)
		}
	}

	hits := search(clipdb.SearchRequest{Vector: []float32{1, 0.2, 0, 0}, Limit: 2})
	check("plain", hits, "a", "c")
	if fmt.Sprint(hits[0].Payload) != fmt.Sprint(map[string]any{"colour": "red", "year": 2019.0}) {
		t.Errorf("payload %v", hits[0].Payload)
	}
	if !(hits[0].Score > hits[1].Score) || hits[0].Vector != nil {
		t.Errorf("hits %+v", hits)
	}

	redSince2020 := clipdb.Must(clipdb.Field("colour").Eq("red"), clipdb.Field("year").Range(clipdb.Gte(2020)))
	check("builder", search(clipdb.SearchRequest{Vector: []float32{1, 0.2, 0, 0}, Filter: redSince2020}), "c")
	parsed, err := clipdb.ParseFilter(`{"must": [{"key": "colour", "equals": "red"},
		{"key": "year", "range": {"gte": 2020}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	check("parsed", search(clipdb.SearchRequest{Vector: []float32{1, 0.2, 0, 0}, Filter: parsed}), "c")
	check("ne", search(clipdb.SearchRequest{Vector: []float32{1, 0, 0, 0},
		Filter: clipdb.Must(clipdb.Field("colour").Ne("red"))}), "b")
	check("should", search(clipdb.SearchRequest{Vector: []float32{1, 0, 0, 0},
		Filter: clipdb.Should(clipdb.HasID("b"), clipdb.Field("year").Gt(2022))}), "c", "b")
	check("any nested", search(clipdb.SearchRequest{Vector: []float32{1, 0, 0, 0},
		Filter: clipdb.Must(clipdb.Field("meta.tags").Any("y", "z"))}), "c")
	check("and-not", search(clipdb.SearchRequest{Vector: []float32{1, 0, 0, 0},
		Filter: clipdb.Must(clipdb.Field("colour").Eq("red")).AndNot(clipdb.Field("meta").IsEmpty())}), "c")

	hits = search(clipdb.SearchRequest{Vector: []float32{0, 1, 0, 0}, Limit: 1, WithVector: true, WithoutPayload: true})
	check("with vector", hits, "b")
	if len(hits[0].Payload) != 0 || !slices.Equal(hits[0].Vector, []float32{0, 1, 0, 0}) {
		t.Errorf("hit %+v, want no payload and vector [0 1 0 0]", hits[0])
	}
	check("by id", search(clipdb.SearchRequest{ID: "a", Limit: 1}), "c")
	check("offset", search(clipdb.SearchRequest{Vector: []float32{1, 0, 0, 0}, Offset: 1, Limit: 1}), "c")
	threshold := float32(0.9)
	check("threshold", search(clipdb.SearchRequest{Vector: []float32{1, 0, 0, 0}, ScoreThreshold: &threshold}), "a")

	batch := must(db.SearchBatch(ctx, []*clipdb.SearchRequest{
		{Collection: name, Vector: []float32{1, 0, 0, 0}, Limit: 1},
		{Collection: name, Vector: []float32{0, 1, 0, 0}, Limit: 1},
	})).ok(t)
	if len(batch) != 2 || !slices.Equal(ids(batch[0]), []string{"a"}) || !slices.Equal(ids(batch[1]), []string{"b"}) {
		t.Errorf("batch %v", batch)
	}
	check("recommend", must(db.Recommend(ctx, &clipdb.RecommendRequest{Collection: name,
		PositiveIDs: []string{"a"}, NegativeVectors: [][]float32{{0, 1, 0, 0}}, Limit: 1})).ok(t), "c")
}

func TestGetDeleteCountScroll(t *testing.T) {
	db := dial(t, demoServer(t))
	name := vectorCollection(t, db)
	got := must(db.GetWithVectors(ctx, name, "c", "missing", "a")).ok(t)
	if !slices.Equal(recordIDs(got), []string{"c", "a"}) {
		t.Fatalf("get: %v", recordIDs(got))
	}
	if !slices.Equal(got[1].Vector, []float32{1, 0, 0, 0}) {
		t.Errorf("vector of a: %v", got[1].Vector)
	}
	if fmt.Sprint(got[0].Payload["meta"]) != "map[tags:[x y]]" {
		t.Errorf("meta of c: %v", got[0].Payload["meta"])
	}
	if got := must(db.Get(ctx, name, "a")).ok(t); got[0].Vector != nil {
		t.Errorf("Get without vectors returned %v", got[0].Vector)
	}
	if n := must(db.Count(ctx, name, nil)).ok(t); n != 3 {
		t.Errorf("count %d", n)
	}
	if n := must(db.Count(ctx, name, clipdb.Must(clipdb.Field("colour").Eq("red")))).ok(t); n != 2 {
		t.Errorf("count red %d", n)
	}

	var more []clipdb.Point
	for i := range 250 {
		more = append(more, clipdb.Point{ID: fmt.Sprintf("p%03d", i), Vector: []float32{float32(i), 1, 1, 1},
			Payload: map[string]any{"i": i}})
	}
	var progress []int
	n, err := db.Upsert(ctx, name, more, clipdb.WithBatchSize(100), clipdb.WithProgress(func(sent int) {
		progress = append(progress, sent)
	}))
	if err != nil || n != 250 || !slices.Equal(progress, []int{100, 200, 250}) {
		t.Fatalf("upsert: %d %v, progress %v", n, err, progress)
	}
	if n := must(db.Count(ctx, name, nil)).ok(t); n != 253 {
		t.Errorf("count %d, want 253", n)
	}

	var all []string
	for rec, err := range db.Scroll(ctx, &clipdb.ScrollRequest{Collection: name, PageSize: 40}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rec.ID)
	}
	if len(all) != 253 || !slices.IsSorted(all) {
		t.Errorf("scroll: %d ids, sorted %v", len(all), slices.IsSorted(all))
	}
	var few []string
	for rec, err := range db.Scroll(ctx, &clipdb.ScrollRequest{Collection: name,
		Filter: clipdb.Must(clipdb.Field("i").Lt(3)), WithoutPayload: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Payload) != 0 {
			t.Errorf("payload %v without payloads", rec.Payload)
		}
		few = append(few, rec.ID)
	}
	if !slices.Equal(few, []string{"p000", "p001", "p002"}) {
		t.Errorf("filtered scroll: %v", few)
	}

	if n := must(db.Delete(ctx, name, "a", "nope")).ok(t); n != 1 {
		t.Errorf("deleted %d, want 1", n)
	}
	if n := must(db.DeleteWhere(ctx, name, clipdb.Must(clipdb.Field("i").Gte(100)))).ok(t); n != 150 {
		t.Errorf("deleted where i >= 100: %d, want 150", n)
	}
	if n := must(db.Count(ctx, name, nil)).ok(t); n != 102 {
		t.Errorf("count %d, want 102", n)
	}
	if _, err := db.DeleteWhere(ctx, name, nil); !clipdb.IsInvalidArgument(err) {
		t.Errorf("DeleteWhere without a filter: %v", err)
	}
}

func TestPayloadUpdates(t *testing.T) {
	db := dial(t, demoServer(t))
	name := vectorCollection(t, db)
	n := must(db.SetPayload(ctx, &clipdb.SetPayloadRequest{Collection: name, IDs: []string{"a", "b"},
		Payload: map[string]any{"seen": true}})).ok(t)
	if n != 2 {
		t.Errorf("updated %d", n)
	}
	if p := must(db.Get(ctx, name, "a")).ok(t)[0].Payload; fmt.Sprint(p) != "map[colour:red seen:true year:2019]" {
		t.Errorf("merged payload %v", p)
	}
	must(db.SetPayload(ctx, &clipdb.SetPayloadRequest{Collection: name,
		Filter: clipdb.Must(clipdb.Field("colour").Eq("blue")), Payload: map[string]any{"only": 1}, Replace: true})).ok(t)
	if p := must(db.Get(ctx, name, "b")).ok(t)[0].Payload; fmt.Sprint(p) != "map[only:1]" {
		t.Errorf("replaced payload %v", p)
	}
	n = must(db.DeletePayloadKeys(ctx, &clipdb.DeletePayloadKeysRequest{Collection: name,
		Filter: clipdb.Must(clipdb.Field("colour").Eq("red")), Keys: []string{"year"}})).ok(t)
	if n != 2 {
		t.Errorf("keys deleted from %d points", n)
	}
	if p := must(db.Get(ctx, name, "c")).ok(t)[0].Payload; p["year"] != nil {
		t.Errorf("year still in %v", p)
	}
	idx := must(db.CreatePayloadIndex(ctx, name, "colour", clipdb.PayloadIndexKeyword)).ok(t)
	if idx.GetKey() != "colour" || idx.GetType() != clipdb.PayloadIndexKeyword {
		t.Errorf("index %v", idx)
	}
	if got := must(db.GetCollection(ctx, name)).ok(t).GetPayloadIndexes(); len(got) != 1 || got[0].GetKey() != "colour" {
		t.Errorf("indexes %v", got)
	}
	if err := db.DeletePayloadIndex(ctx, name, "colour"); err != nil {
		t.Fatal(err)
	}
	if got := must(db.GetCollection(ctx, name)).ok(t).GetPayloadIndexes(); len(got) != 0 {
		t.Errorf("indexes after delete %v", got)
	}
}

func TestSnapshots(t *testing.T) {
	db := dial(t, demoServer(t))
	name := vectorCollection(t, db)
	snap := must(db.CreateSnapshot(ctx, name)).ok(t)
	if snap.GetCollection() != name || snap.GetPointCount() != 3 || snap.GetCreatedAt() == nil {
		t.Errorf("snapshot %v", snap)
	}
	var names []string
	for _, s := range must(db.ListSnapshots(ctx, name)).ok(t) {
		names = append(names, s.GetName())
	}
	if !slices.Contains(names, snap.GetName()) {
		t.Errorf("%s not in %v", snap.GetName(), names)
	}
	if err := db.DeleteSnapshot(ctx, name, snap.GetName()); err != nil {
		t.Fatal(err)
	}
	if left := must(db.ListSnapshots(ctx, name)).ok(t); len(left) != 0 {
		t.Errorf("snapshots after delete: %v", left)
	}
}

func TestErrorsCarryTheServerMessage(t *testing.T) {
	db := dial(t, demoServer(t))
	name := vectorCollection(t, db)
	_, err := db.Upsert(ctx, name, []clipdb.Point{{ID: "x", Vector: []float32{1, 2}}})
	want := fmt.Sprintf("point `x`: vector has dimension 2, collection `%s` expects 4", name)
	if !clipdb.IsInvalidArgument(err) {
		t.Fatalf("bad dimension: %v, want InvalidArgument", err)
	}
	var e *clipdb.Error
	if !errors.As(err, &e) || e.Code != codes.InvalidArgument || e.Message != want || e.Op != "Upsert" {
		t.Errorf("error %#v, want message %q", e, want)
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument || st.Message() != want {
		t.Errorf("status.FromError: %v %v, want InvalidArgument %q", st, ok, want)
	}
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("status.Code: %v", status.Code(err))
	}

	_, err = db.Search(ctx, &clipdb.SearchRequest{Collection: name, Vector: []float32{1, 0, 0, 0}, Limit: 20000})
	if !clipdb.IsInvalidArgument(err) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("limit 20000: %v", err)
	}
	_, err = db.Search(ctx, &clipdb.SearchRequest{Collection: "no_such_collection", Vector: []float32{1, 0, 0, 0}})
	if !clipdb.IsNotFound(err) {
		t.Errorf("unknown collection: %v, want NotFound", err)
	}
	_, err = db.Search(ctx, &clipdb.SearchRequest{Collection: name, Text: "a red circle"})
	if !clipdb.IsFailedPrecondition(err) {
		t.Errorf("text on a raw-vector collection: %v, want FailedPrecondition", err)
	}
	// refused before sending: two queries
	_, err = db.Search(ctx, &clipdb.SearchRequest{Collection: name, Vector: []float32{1, 0, 0, 0}, Text: "both"})
	if !clipdb.IsInvalidArgument(err) || !strings.Contains(err.Error(), "exactly one of") {
		t.Errorf("two queries: %v", err)
	}
	_, err = db.Search(ctx, &clipdb.SearchRequest{Collection: name, Vector: []float32{1, 0, 0, 0},
		Filter: clipdb.Must(clipdb.Field("x").Eq(struct{}{}))})
	if !clipdb.IsInvalidArgument(err) {
		t.Errorf("unencodable filter value: %v", err)
	}
	if _, err := clipdb.ParseFilter(`{"must": [{"key": "x", "nope": 1}]}`); !clipdb.IsInvalidArgument(err) {
		t.Errorf("ParseFilter of a bad filter: %v", err)
	}
}
