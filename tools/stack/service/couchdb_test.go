package service

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	kivik "github.com/go-kivik/kivik/v4"
	_ "github.com/go-kivik/kivik/v4/couchdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartCouchDBInMemory(t *testing.T) {
	requireInstalled(t, "couchdb")
	begin := time.Now()
	p, err := StartCouchDB(t.Context(), CouchDBOptions{})
	require.NoError(t, err)
	t.Logf("pouchdb-server (in memory) ready in %s", time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() { _ = p.Stop(t.Context()) })
	assert.Equal(t, "couchdb", p.Name)

	client, err := kivik.New("couch", p.URL)
	require.NoError(t, err)
	require.NoError(t, client.CreateDB(t.Context(), "orders"))
	db := client.DB("orders")
	rev, err := db.Put(t.Context(), "o1", map[string]any{"qty": 3})
	require.NoError(t, err)
	assert.NotEmpty(t, rev)
	var doc struct {
		ID  string `json:"_id"`
		Qty int    `json:"qty"`
	}
	require.NoError(t, db.Get(t.Context(), "o1").ScanDoc(&doc))
	assert.Equal(t, "o1", doc.ID)
	assert.Equal(t, 3, doc.Qty)

	resp, err := http.Get(p.URL + "/_config/couchdb/max_document_size")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	var size string
	require.NoError(t, json.Unmarshal(body, &size))
	assert.Equal(t, "8000000", size)

	require.NoError(t, p.Stop(t.Context()))
	requireGone(t, p.PID)
	assert.NoFileExists(t, p.LogFile, "the temporary log is removed")
}

func TestStartCouchDBOnDiskKeepsData(t *testing.T) {
	requireInstalled(t, "couchdb")
	dir := t.TempDir()
	logFile := t.TempDir() + "/couchdb.log"

	p, err := StartCouchDB(t.Context(), CouchDBOptions{Dir: dir, LogFile: logFile})
	require.NoError(t, err)
	client, err := kivik.New("couch", p.URL)
	require.NoError(t, err)
	require.NoError(t, client.CreateDB(t.Context(), "kept"))
	_, err = client.DB("kept").Put(t.Context(), "d1", map[string]any{"v": "x"})
	require.NoError(t, err)
	require.NoError(t, p.Stop(t.Context()))
	requireGone(t, p.PID)

	p, err = StartCouchDB(t.Context(), CouchDBOptions{Dir: dir, LogFile: logFile})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(t.Context()) })
	client, err = kivik.New("couch", p.URL)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, client.DB("kept").Get(t.Context(), "d1").ScanDoc(&doc))
	assert.Equal(t, "x", doc["v"])
	assert.FileExists(t, logFile)
}
