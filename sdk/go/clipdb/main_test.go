package clipdb_test

// The tests run the real clipdb server binary on loopback ports, as the
// Python SDK's tests do: $CLIPDB_BIN, or target/debug/clipdb of this checkout
// (`cargo build --bin clipdb`; sdk/go/test.sh checks for it).

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/clipdb/clipdb/sdk/go/clipdb"
)

var (
	tmpRoot string
	mu      sync.Mutex
	servers = map[string]*server{}
	started []*server
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clipdb-go-sdk-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpRoot = dir
	code := m.Run()
	for _, s := range started {
		s.stop()
	}
	if code == 0 || len(started) == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "server logs kept in %s\n", dir)
	}
	os.Exit(code)
}

// clipdbBin is the server binary, or a failure naming the fix.
func clipdbBin(t testing.TB) string {
	t.Helper()
	path := os.Getenv("CLIPDB_BIN")
	if path == "" {
		root, err := filepath.Abs(filepath.Join("..", "..", ".."))
		if err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(root, "target", "debug", "clipdb")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no clipdb binary at %s; build it with: cargo build --bin clipdb (or set CLIPDB_BIN)", path)
	}
	return path
}

type server struct {
	addr string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// startServer runs `clipdb serve` on loopback ports with its own data dir
// and returns once it says where it listens.
func startServer(t testing.TB, name string, args ...string) *server {
	t.Helper()
	dir := filepath.Join(tmpRoot, name)
	log, err := os.Create(dir + ".log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(clipdbBin(t), append([]string{"serve", "--listen", "127.0.0.1:0",
		"--http-listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data")}, args...)...)
	// the server reads CLIPDB_* settings from its environment: keep ours out
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLIPDB_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	s := &server{cmd: cmd, log: log, done: make(chan struct{})}
	started = append(started, s)
	go func() { cmd.Wait(); close(s.done) }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "clipdb listening on "); ok {
				addr <- strings.TrimSpace(a)
			}
		}
	}()
	select {
	case s.addr = <-addr:
		return s
	case <-s.done:
		t.Fatalf("clipdb serve %v exited: see %s", args, log.Name())
	case <-time.After(60 * time.Second):
		t.Fatalf("clipdb serve did not say where it listens within 60 s: see %s", log.Name())
	}
	return nil
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.log.Close()
}

// shared starts the server of this name once for the whole run.
func shared(t testing.TB, name string, args ...string) *server {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if s, ok := servers[name]; ok {
		return s
	}
	s := startServer(t, name, args...)
	servers[name] = s
	return s
}

// demoServer has the bundled demo CLIP model (the default).
func demoServer(t testing.TB) string { return shared(t, "demo").addr }

// keyedServer takes a read-write and a read-only API key; no model.
func keyedServer(t testing.TB) string {
	return shared(t, "keys", "--model", "none", "--api-key", "write-key",
		"--read-only-api-key", "read-key").addr
}

// tlsServer serves TLS with a certificate for 127.0.0.1 / localhost signed
// by a CA made here; it returns the address and the CA's PEM file.
func tlsServer(t testing.TB) (addr, caFile string) {
	t.Helper()
	caFile = filepath.Join(tmpRoot, "tls-ca.pem")
	mu.Lock()
	_, running := servers["tls"]
	mu.Unlock()
	if !running {
		makeCerts(t, tmpRoot)
	}
	s := shared(t, "tls", "--model", "none", "--tls-cert", filepath.Join(tmpRoot, "tls-server.pem"),
		"--tls-key", filepath.Join(tmpRoot, "tls-server.key"))
	return s.addr, caFile
}

// mtlsServer is tlsServer that also requires client certificates from the
// same CA; it returns the address and the directory of the PEM files.
func mtlsServer(t testing.TB) (addr, certDir string) {
	t.Helper()
	_, caFile := tlsServer(t) // makes the certificates
	s := shared(t, "mtls", "--model", "none", "--tls-cert", filepath.Join(tmpRoot, "tls-server.pem"),
		"--tls-key", filepath.Join(tmpRoot, "tls-server.key"), "--tls-client-ca", caFile)
	return s.addr, tmpRoot
}

func makeCerts(t testing.TB, dir string) {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "clipdb test CA"},
		NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("tls-ca.pem", "CERTIFICATE", caDER)
	write("tls-server.pem", "CERTIFICATE", der)
	write("tls-server.key", "PRIVATE KEY", keyDER)

	// a client certificate from the same CA, for mutual TLS
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "clipdb test client"},
		NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, ca, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	clientKeyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	write("tls-client.pem", "CERTIFICATE", clientDER)
	write("tls-client.key", "PRIVATE KEY", clientKeyDER)
}

// demoData makes n images of coloured shapes with captions (COCO layout:
// DIR/captions.json, DIR/images/).
func demoData(t testing.TB, n int) string {
	t.Helper()
	out := filepath.Join(tmpRoot, fmt.Sprintf("shapes-%d", n))
	if _, err := os.Stat(filepath.Join(out, "captions.json")); err == nil {
		return out
	}
	cmd := exec.Command(clipdbBin(t), "demo-data", "--out", out, "--count", fmt.Sprint(n))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clipdb demo-data: %v\n%s", err, b)
	}
	return out
}

var collectionSeq atomic.Int64

// collectionName is a fresh collection name per test.
func collectionName() string {
	return fmt.Sprintf("go%d_%d", os.Getpid(), collectionSeq.Add(1))
}

// dial connects to addr (failing the test otherwise) and closes at the end.
func dial(t testing.TB, addr string, opts ...clipdb.Option) *clipdb.Client {
	t.Helper()
	db, err := clipdb.Dial(context.Background(), addr, append([]clipdb.Option{clipdb.WithTimeout(60 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
