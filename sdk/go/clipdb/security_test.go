package clipdb_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/clipdb/clipdb/sdk/go/clipdb"
)

func TestAPIKeys(t *testing.T) {
	addr := keyedServer(t)
	name := collectionName()
	if _, err := dial(t, addr).ListCollections(ctx); !clipdb.IsUnauthenticated(err) {
		t.Errorf("no key: %v, want Unauthenticated", err)
	}
	if _, err := dial(t, addr, clipdb.WithAPIKey("wrong")).ListCollections(ctx); !clipdb.IsUnauthenticated(err) {
		t.Errorf("wrong key: %v, want Unauthenticated", err)
	}

	w := dial(t, addr, clipdb.WithAPIKey("write-key"))
	must(w.CreateCollection(ctx, &clipdb.CreateCollectionRequest{Name: name, Dimension: 2})).ok(t)
	must(w.Upsert(ctx, name, []clipdb.Point{{ID: "a", Vector: []float32{1, 0}}})).ok(t)
	// the key goes with streams too
	pts := []clipdb.Point{{ID: "s", Vector: []float32{0.5, 0.5}}}
	if n := must(w.UpsertStream(ctx, name, slices.Values(pts))).ok(t); n != 1 {
		t.Errorf("stream upserted %d", n)
	}

	r := dial(t, addr, clipdb.WithAPIKey("read-key"))
	hits := must(r.Search(ctx, &clipdb.SearchRequest{Collection: name, Vector: []float32{1, 0}, Limit: 1})).ok(t)
	if len(hits) != 1 || hits[0].ID != "a" {
		t.Errorf("read-only search: %v", ids(hits))
	}
	if n := must(r.Count(ctx, name, nil)).ok(t); n != 2 {
		t.Errorf("read-only count %d", n)
	}
	if _, err := r.Upsert(ctx, name, []clipdb.Point{{ID: "b", Vector: []float32{0, 1}}}); !clipdb.IsPermissionDenied(err) {
		t.Errorf("upsert with the read-only key: %v, want PermissionDenied", err)
	}
	if _, err := r.UpsertStream(ctx, name, slices.Values(pts)); !clipdb.IsPermissionDenied(err) {
		t.Errorf("stream with the read-only key: %v, want PermissionDenied", err)
	}
	if err := r.DeleteCollection(ctx, name); !clipdb.IsPermissionDenied(err) {
		t.Errorf("drop with the read-only key: %v, want PermissionDenied", err)
	}
	if n := must(w.Count(ctx, name, nil)).ok(t); n != 2 {
		t.Errorf("count after refused writes %d, want 2", n)
	}
}

func TestTLS(t *testing.T) {
	addr, caFile := tlsServer(t)
	pem := must(os.ReadFile(caFile)).ok(t)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA PEM did not parse")
	}
	name := collectionName()
	db := dial(t, addr, clipdb.WithRootCAs(pool))
	must(db.CreateCollection(ctx, &clipdb.CreateCollectionRequest{Name: name, Dimension: 2})).ok(t)
	if n := must(db.Upsert(ctx, name, []clipdb.Point{{ID: "a", Vector: []float32{1, 0}}})).ok(t); n != 1 {
		t.Errorf("upserted %d", n)
	}
	// a CA file works too, and https:// implies TLS
	if n := must(dial(t, "https://"+addr, clipdb.WithRootCAFile(caFile)).Count(ctx, name, nil)).ok(t); n != 1 {
		t.Errorf("count %d", n)
	}
	// WithBlock waits for the TLS handshake
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	blocked, err := clipdb.Dial(bctx, addr, clipdb.WithRootCAFile(caFile), clipdb.WithBlock())
	if err != nil {
		t.Fatalf("WithBlock: %v", err)
	}
	blocked.Close()

	// without the CA the server's certificate is not trusted
	untrusted := dial(t, addr, clipdb.WithTLS(nil), clipdb.WithRetry(clipdb.NoRetry), clipdb.WithTimeout(5*time.Second))
	if _, err := untrusted.Count(ctx, name, nil); !clipdb.IsUnavailable(err) {
		t.Errorf("untrusted certificate: %v, want Unavailable", err)
	}
	// and plaintext against a TLS port fails
	plain := dial(t, addr, clipdb.WithRetry(clipdb.NoRetry), clipdb.WithTimeout(5*time.Second))
	if _, err := plain.Count(ctx, name, nil); err == nil {
		t.Error("plaintext call to a TLS port succeeded")
	}
	if _, err := clipdb.Dial(ctx, addr, clipdb.WithRootCAFile(caFile+".missing")); !clipdb.IsInvalidArgument(err) {
		t.Errorf("missing CA file: %v", err)
	}
}

func TestMutualTLS(t *testing.T) {
	addr, dir := mtlsServer(t)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls-client.pem"), filepath.Join(dir, "tls-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "tls-ca.pem")
	db := dial(t, addr, clipdb.WithRootCAFile(ca), clipdb.WithClientCertificate(cert))
	name := collectionName()
	must(db.CreateCollection(ctx, &clipdb.CreateCollectionRequest{Name: name, Dimension: 2})).ok(t)
	if n := must(db.Count(ctx, name, nil)).ok(t); n != 0 {
		t.Errorf("count %d", n)
	}
	anonymous := dial(t, addr, clipdb.WithRootCAFile(ca), clipdb.WithRetry(clipdb.NoRetry), clipdb.WithTimeout(5*time.Second))
	_, err = anonymous.Count(ctx, name, nil)
	// the handshake fails ("certificate required", or a broken pipe when the
	// server hangs up first)
	if !clipdb.IsUnavailable(err) {
		t.Errorf("without a client certificate: %v, want Unavailable", err)
	}
}
