package clipdb_test

import (
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCocoSearchExample runs examples/coco_search as a user would (go run)
// against the demo server.
func TestCocoSearchExample(t *testing.T) {
	addr := demoServer(t)
	dir := demoData(t, 20)
	shapes := loadShapes(t, dir)
	query := shapes[3].captions[0]
	grid := filepath.Join(t.TempDir(), "grid.png")
	cmd := exec.Command("go", "run", "../examples/coco_search", "-server", addr, "-collection", collectionName(),
		"-top", "3", "-out", grid, filepath.Join(dir, "captions.json"), filepath.Join(dir, "images"), query)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	text := string(out)
	if !strings.Contains(text, "imported 20 images\n") {
		t.Errorf("no import report in:\n%s", text)
	}
	ranked := regexp.MustCompile(`(?m)^ *([123])  \d\.\d{3}  (\S+\.jpg)  `).FindAllStringSubmatch(text, -1)
	if len(ranked) != 3 {
		t.Fatalf("want 3 ranked hits in:\n%s", text)
	}
	want := filepath.Base(shapes[3].path)
	found := false
	for _, m := range ranked {
		if _, err := os.Stat(filepath.Join(dir, "images", m[2])); err != nil {
			t.Errorf("hit %s is not an image of the set", m[2])
		}
		found = found || m[2] == want
	}
	if !found {
		t.Errorf("the image captioned %q (%s) is not in the top 3:\n%s", query, want, text)
	}
	f, err := os.Open(grid)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 4*224 || b.Dy() != 224 {
		t.Errorf("grid is %v, want one row of 4 224-pixel cells", b)
	}
}
