package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Dir keeps documents as files DIR/<collection>/<escaped id>.json. It is safe
// for concurrent use as long as no two callers write the same id at once (the
// server serialises writes).
type Dir struct {
	root string
}

// Open prepares dir (creating it if needed) and returns a store rooted there.
func Open(dir string) (*Dir, error) {
	if dir == "" {
		return nil, errors.New("open store: empty directory name")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}
	return &Dir{root: dir}, nil
}

func (d *Dir) path(collection, id string) string {
	return filepath.Join(d.root, collection, url.PathEscape(id)+".json")
}

// Put writes doc under collection/id, replacing any previous version
// atomically (write to a temporary file, sync, rename).
func (d *Dir) Put(ctx context.Context, collection, id string, doc []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s %q: %w", collection, id, err)
	}
	dir := filepath.Join(d.root, collection)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put %s %q: %w", collection, id, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("put %s %q: %w", collection, id, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(doc); err != nil {
		tmp.Close()
		return fmt.Errorf("put %s %q: %w", collection, id, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("put %s %q: %w", collection, id, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %s %q: %w", collection, id, err)
	}
	if err := os.Rename(tmp.Name(), d.path(collection, id)); err != nil {
		return fmt.Errorf("put %s %q: %w", collection, id, err)
	}
	return nil
}

// Delete removes collection/id; deleting a missing document is not an error.
func (d *Dir) Delete(ctx context.Context, collection, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s %q: %w", collection, id, err)
	}
	err := os.Remove(d.path(collection, id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s %q: %w", collection, id, err)
	}
	return nil
}

// All returns every document of collection keyed by id.
func (d *Dir) All(ctx context.Context, collection string) (map[string][]byte, error) {
	entries, err := os.ReadDir(filepath.Join(d.root, collection))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", collection, err)
	}
	out := make(map[string][]byte, len(entries))
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list %s: %w", collection, err)
		}
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		id, err := url.PathUnescape(strings.TrimSuffix(name, ".json"))
		if err != nil {
			return nil, fmt.Errorf("list %s: bad file name %q: %w", collection, name, err)
		}
		b, err := os.ReadFile(filepath.Join(d.root, collection, name))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", collection, err)
		}
		out[id] = b
	}
	return out, nil
}
