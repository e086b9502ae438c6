// Command coco_search is text-to-image search with clipdb: it imports
// captioned images from a COCO-style annotations file, searches them with a
// sentence and prints the top hits (and, with -out, saves them as a PNG grid).
//
//	clipdb serve &                                  # bundled demo CLIP model
//	clipdb demo-data --out shapes --count 200       # or COCO: captions_val2017.json + val2017/
//	go run ./examples/coco_search shapes/captions.json shapes/images "a red circle"
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/clipdb/clipdb/sdk/go/clipdb"
)

type coco struct {
	Images []struct {
		ID       int    `json:"id"`
		FileName string `json:"file_name"`
	} `json:"images"`
	Annotations []struct {
		ImageID int    `json:"image_id"`
		Caption string `json:"caption"`
	} `json:"annotations"`
}

func main() {
	server := flag.String("server", clipdb.DefaultAddress, "clipdb server address")
	collection := flag.String("collection", "coco", "collection (imported once)")
	top := flag.Int("top", 8, "hits to show")
	out := flag.String("out", "", "save the top hits as a PNG grid here")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: coco_search [flags] ANNOTATIONS.json IMAGES_DIR QUERY")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 3 {
		flag.Usage()
		os.Exit(2)
	}
	annotations, images, query := flag.Arg(0), flag.Arg(1), flag.Arg(2)
	ctx := context.Background()

	var data coco
	raw, err := os.ReadFile(annotations)
	if err == nil {
		err = json.Unmarshal(raw, &data)
	}
	if err != nil {
		log.Fatalf("reading %s: %v", annotations, err)
	}
	captions := map[int][]string{}
	for _, a := range data.Annotations {
		captions[a.ImageID] = append(captions[a.ImageID], a.Caption)
	}

	db, err := clipdb.Dial(ctx, *server)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	exists, err := db.CollectionExists(ctx, *collection)
	if err != nil {
		log.Fatal(err)
	}
	if !exists {
		// CLIP collection: the server embeds the images; each point's caption
		// vector is the normalised mean of its captions' embeddings
		if _, err := db.CreateCollection(ctx, &clipdb.CreateCollectionRequest{Name: *collection}); err != nil {
			log.Fatal(err)
		}
		points := func(yield func(clipdb.Point) bool) {
			for _, im := range data.Images {
				img, err := os.ReadFile(filepath.Join(images, im.FileName))
				if err != nil {
					log.Fatal(err)
				}
				caps := captions[im.ID]
				p := clipdb.Point{ID: fmt.Sprint(im.ID), Image: img,
					Payload: map[string]any{"file_name": im.FileName, "captions": anys(caps)}}
				if len(caps) > 0 {
					vecs, err := db.EmbedText(ctx, caps...)
					if err != nil {
						log.Fatal(err)
					}
					p.TextVector = meanNormalised(vecs)
				}
				if !yield(p) {
					return
				}
			}
		}
		n, err := db.UpsertStream(ctx, *collection, points, clipdb.WithBatchSize(64),
			clipdb.WithProgress(func(sent int) { fmt.Printf("\rimported %d images", sent) }))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("\rimported %d images\n", n)
	}

	hits, err := db.Search(ctx, &clipdb.SearchRequest{Collection: *collection, Text: query, Limit: uint32(*top)})
	if err != nil {
		log.Fatal(err)
	}
	var files []string
	for rank, h := range hits {
		file, _ := h.Payload["file_name"].(string)
		caption := ""
		if caps, _ := h.Payload["captions"].([]any); len(caps) > 0 {
			caption, _ = caps[0].(string)
		}
		fmt.Printf("%2d  %.3f  %s  %q\n", rank+1, h.Score, file, caption)
		files = append(files, filepath.Join(images, file))
	}
	if *out != "" {
		if err := saveGrid(*out, files); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("saved the top %d for %q to %s\n", len(files), query, *out)
	}
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

func meanNormalised(vecs [][]float32) []float32 {
	mean := make([]float32, len(vecs[0]))
	for _, v := range vecs {
		for i, x := range v {
			mean[i] += x
		}
	}
	var norm float64
	for _, x := range mean {
		norm += float64(x) * float64(x)
	}
	for i := range mean {
		mean[i] /= float32(math.Sqrt(norm))
	}
	return mean
}

// saveGrid tiles the images, 4 a row in 224-pixel cells (nearest-neighbour
// scaling keeps this to the standard library).
func saveGrid(path string, files []string) error {
	const cell, cols = 224, 4
	rows := (len(files) + cols - 1) / cols
	grid := image.NewRGBA(image.Rect(0, 0, cols*cell, max(rows, 1)*cell))
	draw.Draw(grid, grid.Bounds(), image.White, image.Point{}, draw.Src)
	for i, file := range files {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %v", file, err)
		}
		b := img.Bounds()
		scale := float64(cell) / float64(max(b.Dx(), b.Dy()))
		x0, y0 := (i%cols)*cell, (i/cols)*cell
		for y := 0; y < int(float64(b.Dy())*scale); y++ {
			for x := 0; x < int(float64(b.Dx())*scale); x++ {
				grid.Set(x0+x, y0+y, img.At(b.Min.X+int(float64(x)/scale), b.Min.Y+int(float64(y)/scale)))
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, grid); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
