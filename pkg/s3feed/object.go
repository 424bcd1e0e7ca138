package s3feed

import (
	"context"
	"io"
	"time"
)

// Object is one entry of a bucket listing. Its JSON form is the "file" member
// of an event.
type Object struct {
	// Key is the object key; never empty.
	Key string `json:"Key"`
	// ETag is the entity tag without surrounding quotes (see NormalizeETag).
	ETag string `json:"ETag"`
	// Size is the object size in bytes; never negative.
	Size int64 `json:"Size"`
	// LastModified is the modification time reported by the store, in UTC.
	LastModified time.Time `json:"LastModified"`
	// StorageClass is the store's storage class, such as "STANDARD"; may be empty.
	StorageClass string `json:"StorageClass"`
}

// NormalizeETag strips the double quotes S3 puts around an entity tag
// ("\"9b2c…\"" becomes "9b2c…"). It does not allocate; other text is returned
// unchanged.
func NormalizeETag(etag string) string {
	if len(etag) >= 2 && etag[0] == '"' && etag[len(etag)-1] == '"' {
		return etag[1 : len(etag)-1]
	}
	return etag
}

// Pager yields a listing sorted by key (byte-wise, as S3 sorts UTF-8 keys), a
// page at a time. NextPage returns io.EOF after the last page; a page may be
// empty. The returned slice is only read by the caller and only until the next
// call to NextPage, so a Pager may reuse its buffer; the strings inside the
// objects must stay valid forever (strings are immutable, so this holds unless
// built with package unsafe).
type Pager interface {
	NextPage(ctx context.Context) ([]Object, error)
}

// PagerFunc adapts a function to the Pager interface.
type PagerFunc func(ctx context.Context) ([]Object, error)

// NextPage calls f(ctx).
func (f PagerFunc) NextPage(ctx context.Context) ([]Object, error) { return f(ctx) }

// SlicePager returns a Pager over objects, which must be sorted by key, in pages
// of at most pageSize objects (all of them in one page when pageSize <= 0). It
// does not copy objects and is not safe for concurrent use.
func SlicePager(objects []Object, pageSize int) Pager {
	if pageSize <= 0 {
		pageSize = len(objects)
	}
	return PagerFunc(func(ctx context.Context) ([]Object, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(objects) == 0 {
			return nil, io.EOF
		}
		n := min(pageSize, len(objects))
		page := objects[:n:n]
		objects = objects[n:]
		return page, nil
	})
}
