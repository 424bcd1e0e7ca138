package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// CouchDB returns the base URL of a CouchDB-compatible server (pouchdb-server
// in memory, without admins, 8 MB document limit) shared by the tests of
// this binary. Give each test its own database with NewDatabase or
// DatabaseName.
func CouchDB(t testing.TB) string {
	t.Helper()
	return server(t, "couchdb", func(ctx context.Context) (*service.Proc, error) {
		return service.StartCouchDB(ctx, service.CouchDBOptions{})
	}).URL
}

// DatabaseName returns a CouchDB database name unique to this test and this
// run; the database is not created.
func DatabaseName(t testing.TB) string {
	return "t_" + uniqueName(t.Name(), 60, '_')
}

// NewDatabase creates a fresh database on the server at couchURL and deletes
// it when the test ends. It returns the database name.
func NewDatabase(t testing.TB, couchURL string) string {
	t.Helper()
	name := DatabaseName(t)
	dbURL := strings.TrimRight(couchURL, "/") + "/" + url.PathEscape(name)
	if status, err := couchRequest(t.Context(), http.MethodPut, dbURL); err != nil || status != http.StatusCreated {
		t.Fatalf("testenv: create database %s: status %d: %v", name, status, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		status, err := couchRequest(ctx, http.MethodDelete, dbURL)
		if err != nil || (status != http.StatusOK && status != http.StatusNotFound) {
			t.Errorf("testenv: delete database %s: status %d: %v", name, status, err)
		}
	})
	return name
}

func couchRequest(ctx context.Context, method, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// uniqueName turns a test name into lowercase letters, digits and sep, cut
// to max characters, followed by sep and random hex.
func uniqueName(testName string, max int, sep byte) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte(sep)
		}
		if b.Len() >= max {
			break
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	return fmt.Sprintf("%s%c%s", b.String(), sep, hex.EncodeToString(rnd[:]))
}
