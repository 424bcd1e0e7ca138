package rssfeed_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/rssfeed"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// feedServer serves an RSS document whose items the test changes.
type feedServer struct {
	mu    sync.Mutex
	items []string
	atom  bool
}

func (f *feedServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	if f.atom {
		b.WriteString(`<feed xmlns="http://www.w3.org/2005/Atom">`)
		for i := len(f.items) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, `<entry><id>urn:%s</id><title>%s</title><link href="https://example.com/%s"/></entry>`, f.items[i], f.items[i], f.items[i])
		}
		b.WriteString(`</feed>`)
	} else {
		b.WriteString(`<rss version="2.0"><channel><title>t</title>`)
		for i := len(f.items) - 1; i >= 0; i-- { // newest first
			fmt.Fprintf(&b, `<item><guid>%s</guid><title>%s</title><link>https://example.com/%s</link></item>`, f.items[i], f.items[i], f.items[i])
		}
		b.WriteString(`</channel></rss>`)
	}
	_, _ = w.Write([]byte(b.String()))
}

func (f *feedServer) add(items ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = append(f.items, items...)
}

func newLocal(t *testing.T) (*feed.Local, *[]map[string]any) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs pouchdb-server")
	}
	ctx := t.Context()
	url := testenv.CouchDB(t)
	st, err := feed.OpenStore(ctx, url, testenv.NewDatabase(t, url))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	kr, err := feed.NewKeyring(strings.Repeat("ab", 32))
	require.NoError(t, err)
	var fired []map[string]any
	var mu sync.Mutex
	return &feed.Local{Store: st, Keyring: kr, Fire: func(_ context.Context, _ string, payload any) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		it := payload.(rssfeed.Item)
		fired = append(fired, map[string]any{"id": it.ID, "title": it.Title, "event_id": it.EventID})
		return false, nil
	}}, &fired
}

func TestNewItemsFireOnce(t *testing.T) {
	for _, atom := range []bool{false, true} {
		t.Run(fmt.Sprintf("atom=%v", atom), func(t *testing.T) {
			fs := &feedServer{items: []string{"a", "b"}, atom: atom}
			srv := httptest.NewServer(fs)
			t.Cleanup(srv.Close)
			l, fired := newLocal(t)
			src := rssfeed.New()

			rec, err := l.Create(t.Context(), src, "guest", "news", map[string]any{"url": srv.URL})
			require.NoError(t, err)
			res, err := l.Poll(t.Context(), src, rec.ID)
			require.NoError(t, err)
			assert.Zero(t, res.Events, "items present at CREATE are the baseline")

			fs.add("c", "d")
			res, err = l.Poll(t.Context(), src, rec.ID)
			require.NoError(t, err)
			assert.EqualValues(t, 2, res.Events)
			require.Len(t, *fired, 2)
			assert.Equal(t, "c", (*fired)[0]["title"], "oldest new item first")
			assert.Equal(t, "d", (*fired)[1]["title"])

			res, err = l.Poll(t.Context(), src, rec.ID)
			require.NoError(t, err)
			assert.Zero(t, res.Events, "nothing new, nothing fired")
			got, err := l.Store.Get(t.Context(), rec.ID)
			require.NoError(t, err)
			assert.EqualValues(t, 3, got.Stats.Polls)
			assert.EqualValues(t, 2, got.Stats.EventsFired)
		})
	}
}

func TestBadParameters(t *testing.T) {
	l, _ := newLocal(t)
	tests := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"missing url", map[string]any{}, `parameter "url" is required`},
		{"not http", map[string]any{"url": "ftp://x/y"}, `parameter "url": expected an http(s) address`},
		{"bad interval", map[string]any{"url": "http://127.0.0.1:1/", "interval": 0}, `parameter "interval"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Create(t.Context(), rssfeed.New(), "guest", "bad", tc.params)
			require.ErrorIs(t, err, feed.ErrInvalidParams)
			assert.Contains(t, err.Error(), tc.want)
			_, err = l.Store.Get(t.Context(), feed.RecordID("guest", "bad"))
			require.ErrorIs(t, err, feed.ErrNotFound, "a refused CREATE stores nothing")
		})
	}
}

func TestUnreachableFeedIsRefusedAtCreate(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	l, _ := newLocal(t)
	_, err := l.Create(t.Context(), rssfeed.New(), "guest", "gone", map[string]any{"url": srv.URL})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "404")
	_, err = l.Store.Get(t.Context(), feed.RecordID("guest", "gone"))
	require.ErrorIs(t, err, feed.ErrNotFound)
}
