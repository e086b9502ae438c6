package clipdb_test

import (
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clipdb/clipdb/sdk/go/clipdb"
)

type shape struct {
	id       string
	path     string
	captions []string
	colour   string
}

// loadShapes reads demo-data's COCO-style captions.json.
func loadShapes(t *testing.T, dir string) []shape {
	t.Helper()
	var coco struct {
		Images []struct {
			ID       int    `json:"id"`
			FileName string `json:"file_name"`
			Scene    struct {
				Objects []struct {
					Colour string `json:"colour"`
				} `json:"objects"`
			} `json:"scene"`
		} `json:"images"`
		Annotations []struct {
			ImageID int    `json:"image_id"`
			Caption string `json:"caption"`
		} `json:"annotations"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "captions.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &coco); err != nil {
		t.Fatal(err)
	}
	captions := map[int][]string{}
	for _, a := range coco.Annotations {
		captions[a.ImageID] = append(captions[a.ImageID], a.Caption)
	}
	var out []shape
	for _, im := range coco.Images {
		out = append(out, shape{id: fmt.Sprint(im.ID), path: filepath.Join(dir, "images", im.FileName),
			captions: captions[im.ID], colour: im.Scene.Objects[0].Colour})
	}
	return out
}

func TestImagesAndTexts(t *testing.T) {
	db := dial(t, demoServer(t))
	shapes := loadShapes(t, demoData(t, 20))
	name := collectionName()
	info := must(db.CreateCollection(ctx, &clipdb.CreateCollectionRequest{Name: name})).ok(t) // CLIP
	if info.GetVectorizer() != clipdb.VectorizerCLIP || info.GetDimension() == 0 {
		t.Fatalf("created %v, want a CLIP collection of the model's dimension", info)
	}
	dim := int(info.GetDimension())

	// a generator: each image is read only when the stream needs it
	points := func(yield func(clipdb.Point) bool) {
		for _, s := range shapes {
			img, err := os.ReadFile(s.path)
			if err != nil {
				t.Error(err)
				return
			}
			if !yield(clipdb.Point{ID: s.id, Image: img, Text: s.captions[len(s.captions)-1],
				Payload: map[string]any{"colour": s.colour, "file": filepath.Base(s.path)}}) {
				return
			}
		}
	}
	var progress []int
	n, err := db.UpsertStream(ctx, name, iter.Seq[clipdb.Point](points), clipdb.WithBatchSize(6),
		clipdb.WithProgress(func(sent int) { progress = append(progress, sent) }))
	if err != nil || n != 20 {
		t.Fatalf("upsert stream: %d, %v", n, err)
	}
	if !slices.Equal(progress, []int{6, 12, 18, 20}) {
		t.Errorf("progress %v", progress)
	}
	if c := must(db.Count(ctx, name, nil)).ok(t); c != 20 {
		t.Errorf("count %d", c)
	}
	if m := must(db.GetCollection(ctx, name)).ok(t).GetModel(); m == "" {
		t.Error("no model recorded after storing images")
	}

	first := shapes[0]
	caption := first.captions[len(first.captions)-1]
	// captions only: the point whose caption this is scores ~1
	hits := must(db.Search(ctx, &clipdb.SearchRequest{Collection: name, Text: caption,
		Fusion: &clipdb.FusionWeights{Text: 1}, Limit: 3})).ok(t)
	if hits[0].ID != first.id || hits[0].Score < 0.99 {
		t.Errorf("caption search: %+v, want %s first with score ~1", hits[0], first.id)
	}
	// images only, queried by the image itself
	img := must(os.ReadFile(first.path)).ok(t)
	hits = must(db.Search(ctx, &clipdb.SearchRequest{Collection: name, Image: img,
		Fusion: &clipdb.FusionWeights{Image: 1}, Limit: 1})).ok(t)
	if hits[0].ID != first.id || hits[0].Score < 0.99 {
		t.Errorf("image search: %+v, want %s with score ~1", hits[0], first.id)
	}
	// fused, with a filter
	hits = must(db.Search(ctx, &clipdb.SearchRequest{Collection: name, Text: "a " + first.colour + " shape",
		Filter: clipdb.Must(clipdb.Field("colour").Eq(first.colour))})).ok(t)
	if len(hits) == 0 {
		t.Error("fused search with a filter found nothing")
	}
	for _, h := range hits {
		if h.Payload["colour"] != first.colour {
			t.Errorf("hit %s has colour %v, filter asked %s", h.ID, h.Payload["colour"], first.colour)
		}
	}

	// Upsert (not streamed) with a caption only: the server embeds the text
	must(db.Upsert(ctx, name, []clipdb.Point{{ID: "caption-only", Text: "a tiny purple triangle",
		Payload: map[string]any{"colour": "purple"}}})).ok(t)
	hits = must(db.Search(ctx, &clipdb.SearchRequest{Collection: name, Text: "a tiny purple triangle",
		Fusion: &clipdb.FusionWeights{Text: 1}, Limit: 1})).ok(t)
	if hits[0].ID != "caption-only" || hits[0].Score < 0.99 {
		t.Errorf("text point search: %+v", hits[0])
	}

	vecs := must(db.EmbedText(ctx, "a red circle", "a blue square")).ok(t)
	if len(vecs) != 2 || len(vecs[0]) != dim || len(vecs[1]) != dim {
		t.Fatalf("EmbedText: %d vectors", len(vecs))
	}
	if norm := l2(vecs[0]); math.Abs(norm-1) > 1e-3 {
		t.Errorf("text embedding norm %f, want 1", norm)
	}
	imgVecs := must(db.EmbedImage(ctx, img)).ok(t)
	if len(imgVecs) != 1 || len(imgVecs[0]) != dim {
		t.Fatalf("EmbedImage: %v", len(imgVecs))
	}
	hits = must(db.Search(ctx, &clipdb.SearchRequest{Collection: name, Vector: imgVecs[0],
		Fusion: &clipdb.FusionWeights{Image: 1}, Limit: 1})).ok(t)
	if hits[0].ID != first.id {
		t.Errorf("search by the image's embedding: %s, want %s", hits[0].ID, first.id)
	}

	_, err = db.Upsert(ctx, name, []clipdb.Point{{ID: "bad", Image: []byte("not an image")}})
	if !clipdb.IsInvalidArgument(err) || !strings.Contains(err.Error(), "`bad`") {
		t.Errorf("undecodable image: %v, want InvalidArgument naming the point", err)
	}
}

func l2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}
