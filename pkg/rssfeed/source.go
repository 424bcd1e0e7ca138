package rssfeed

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
)

const maxSeen = 1000 // item ids remembered between polls

// Source polls one RSS 2.0 or Atom feed.
type Source struct{ HTTP *http.Client }

var _, _, _ = feed.Poller((*Source)(nil)), feed.Baseliner((*Source)(nil)), feed.Validator((*Source)(nil))

// New returns the RSS/Atom source.
func New() *Source { return &Source{HTTP: http.DefaultClient} }

// Settings are the parameters of a trigger, keyed by parameter name.
type Settings struct {
	URL string `json:"url"`
}

// Item is one entry of a feed, as fired. EventID is stable per feed and
// item, for consumers that drop duplicates.
type Item struct {
	EventID   string `json:"event_id"`
	ID        string `json:"id"`
	Title     string `json:"title"`
	Link      string `json:"link"`
	Published string `json:"published,omitempty"`
}

// Kind names the source.
func (*Source) Kind() string { return "rss" }

// Configure reads url, an http or https address.
func (*Source) Configure(p *feed.Params) (any, error) {
	s := Settings{URL: p.Required("url", "the http(s) address of an RSS or Atom feed")}
	if u, err := url.Parse(s.URL); s.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		p.Invalid("url", "an http(s) address", s.URL)
	}
	return s, nil
}

// Validate checks that the feed can be fetched and parsed.
func (s *Source) Validate(ctx context.Context, t *feed.Trigger) error {
	_, err := s.items(ctx, t)
	return err
}

// Baseline remembers the items present at CREATE, so they are not fired.
func (s *Source) Baseline(ctx context.Context, ses *feed.Session) error { return s.Poll(ctx, ses) }

// Poll fires the items not seen before, then remembers them.
func (s *Source) Poll(ctx context.Context, ses *feed.Session) error {
	items, err := s.items(ctx, ses.Trigger)
	if err != nil {
		return err
	}
	var seen []string
	if _, err := ses.Cursor(&seen); err != nil {
		return err
	}
	known := make(map[string]bool, len(seen))
	for _, id := range seen {
		known[id] = true
	}
	for i := len(items) - 1; i >= 0; i-- { // feeds list the newest first
		if it := items[i]; !known[it.EventID] {
			if err := ses.Emit(ctx, feed.Event{ID: it.EventID, Data: it}); err != nil {
				return err
			}
			seen = append(seen, it.EventID)
		}
	}
	ses.SetObjects(int64(len(items)))
	return ses.Commit(ctx, seen[max(0, len(seen)-maxSeen):])
}

// document covers both formats: RSS channel items and Atom entries.
type document struct {
	Items []struct {
		GUID    string `xml:"guid"`
		Title   string `xml:"title"`
		Link    string `xml:"link"`
		PubDate string `xml:"pubDate"`
	} `xml:"channel>item"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Link    struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"entry"`
}

func (s *Source) items(ctx context.Context, t *feed.Trigger) ([]Item, error) {
	var cfg Settings
	if err := t.Settings(&cfg); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.URL, nil)
	var resp *http.Response
	if err == nil {
		resp, err = s.HTTP.Do(req)
	}
	if err != nil {
		return nil, &feed.SourceError{Err: fmt.Errorf("fetch %s: %w", cfg.URL, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &feed.SourceError{Permanent: resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone,
			Err: fmt.Errorf("fetch %s: %s", cfg.URL, resp.Status)}
	}
	var doc document
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&doc); err != nil {
		return nil, &feed.SourceError{Err: fmt.Errorf("parse %s: %w", cfg.URL, err)}
	}
	var out []Item
	add := func(id, title, link, published string) {
		sum := sha256.Sum256([]byte(cfg.URL + "\x00" + id))
		out = append(out, Item{EventID: hex.EncodeToString(sum[:16]), ID: id, Title: title, Link: link, Published: published})
	}
	for _, it := range doc.Items {
		add(cmp.Or(it.GUID, it.Link, it.Title), it.Title, it.Link, it.PubDate)
	}
	for _, e := range doc.Entries {
		add(cmp.Or(e.ID, e.Link.Href, e.Title), e.Title, e.Link.Href, e.Updated)
	}
	return out, nil
}
