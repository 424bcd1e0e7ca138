package s3feed

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Chunk encoding, version 1. A chunk is deflate-compressed (RFC 1951, no
// header) text laid out in columns, so that alike values sit together:
//
//	byte     version (1)
//	uvarint  count
//	byte     sub-second unit of LastModified: 0 none, 1 milliseconds, 2 nanoseconds
//	uvarint  number of storage classes, then each as uvarint length + bytes
//	9 columns, each as uvarint length + bytes:
//	  0 key: bytes shared with the previous key (uvarint each)
//	  1 key: length of the rest (uvarint each)
//	  2 key: the rests, concatenated
//	  3 ETag kind (one byte each): 0 empty, 1 MD5 (32 lowercase hex digits),
//	    2 multipart (MD5 "-" parts), 3 other text
//	  4 ETag data: 16 raw bytes for MD5; 16 raw bytes + uvarint parts for
//	    multipart; uvarint length + bytes for text; nothing for empty
//	  5 storage class: index into the classes (uvarint each)
//	  6 size (uvarint each)
//	  7 LastModified: Unix seconds minus those of the previous object
//	    (zig-zag varint each; the first against 0)
//	  8 LastModified sub-second part in the unit above (uvarint each; empty
//	    for unit none)
//
// The chunk's hash is computed over the uncompressed text, which is a pure
// function of the objects, so it does not depend on the compressor.
const (
	chunkVersion = 1

	etagEmpty     = 0
	etagMD5       = 1
	etagMultipart = 2
	etagText      = 3

	subNone  = 0
	subMilli = 1
	subNano  = 2
)

// The columns of a chunk, in order.
const (
	colShared = iota
	colSuffixLen
	colSuffix
	colETagKind
	colETagData
	colClass
	colSize
	colSeconds
	colSubsec
	numCols
)

// maxRawChunk bounds the uncompressed size of a chunk the decoder accepts.
const maxRawChunk = 64 << 20

// ErrCorruptChunk reports chunk data that does not decode.
var ErrCorruptChunk = errors.New("corrupt snapshot chunk")

// chunkEncoder appends objects to the columns of one chunk.
type chunkEncoder struct {
	cols    [numCols][]byte
	nanos   []uint32
	classes []string
	count   int
	lastKey string
	lastSec int64
	raw     []byte
}

func (e *chunkEncoder) reset() {
	for i := range e.cols {
		e.cols[i] = e.cols[i][:0]
	}
	e.nanos = e.nanos[:0]
	e.classes = e.classes[:0]
	e.count, e.lastKey, e.lastSec = 0, "", 0
}

// size is the current uncompressed size of the columns, without header.
func (e *chunkEncoder) size() int {
	n := 0
	for _, c := range e.cols {
		n += len(c)
	}
	return n + 4*len(e.nanos)
}

// add appends o; the caller has checked that its key is non-empty and greater
// than the previous key, and that its size is not negative.
func (e *chunkEncoder) add(o *Object) {
	shared := 0
	if e.count > 0 {
		shared = commonPrefix(e.lastKey, o.Key)
	}
	e.cols[colShared] = binary.AppendUvarint(e.cols[colShared], uint64(shared))
	e.cols[colSuffixLen] = binary.AppendUvarint(e.cols[colSuffixLen], uint64(len(o.Key)-shared))
	e.cols[colSuffix] = append(e.cols[colSuffix], o.Key[shared:]...)

	kind, sum, parts := classifyETag(o.ETag)
	e.cols[colETagKind] = append(e.cols[colETagKind], kind)
	switch kind {
	case etagMD5:
		e.cols[colETagData] = append(e.cols[colETagData], sum[:]...)
	case etagMultipart:
		e.cols[colETagData] = append(e.cols[colETagData], sum[:]...)
		e.cols[colETagData] = binary.AppendUvarint(e.cols[colETagData], parts)
	case etagText:
		e.cols[colETagData] = binary.AppendUvarint(e.cols[colETagData], uint64(len(o.ETag)))
		e.cols[colETagData] = append(e.cols[colETagData], o.ETag...)
	}

	class := -1
	for i, c := range e.classes {
		if c == o.StorageClass {
			class = i
			break
		}
	}
	if class < 0 {
		class = len(e.classes)
		e.classes = append(e.classes, o.StorageClass)
	}
	e.cols[colClass] = binary.AppendUvarint(e.cols[colClass], uint64(class))
	e.cols[colSize] = binary.AppendUvarint(e.cols[colSize], uint64(o.Size))

	sec := o.LastModified.Unix()
	e.cols[colSeconds] = binary.AppendVarint(e.cols[colSeconds], sec-e.lastSec)
	e.nanos = append(e.nanos, uint32(o.LastModified.Nanosecond()))

	e.lastSec = sec
	e.lastKey = o.Key
	e.count++
}

// finish lays out the chunk text in e.raw and returns it; valid until reset.
func (e *chunkEncoder) finish() []byte {
	unit := subNone
	for _, ns := range e.nanos {
		if ns%1e6 != 0 {
			unit = subNano
			break
		}
		if ns != 0 {
			unit = subMilli
		}
	}
	e.cols[colSubsec] = e.cols[colSubsec][:0]
	if unit != subNone {
		div := uint32(1)
		if unit == subMilli {
			div = 1e6
		}
		for _, ns := range e.nanos {
			e.cols[colSubsec] = binary.AppendUvarint(e.cols[colSubsec], uint64(ns/div))
		}
	}
	raw := append(e.raw[:0], chunkVersion)
	raw = binary.AppendUvarint(raw, uint64(e.count))
	raw = append(raw, byte(unit))
	raw = binary.AppendUvarint(raw, uint64(len(e.classes)))
	for _, c := range e.classes {
		raw = binary.AppendUvarint(raw, uint64(len(c)))
		raw = append(raw, c...)
	}
	for _, c := range e.cols {
		raw = binary.AppendUvarint(raw, uint64(len(c)))
		raw = append(raw, c...)
	}
	e.raw = raw
	return raw
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i+8 <= n && a[i:i+8] == b[i:i+8] {
		i += 8
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// classifyETag recognises the ETag forms that have a binary encoding.
func classifyETag(etag string) (kind byte, sum [16]byte, parts uint64) {
	switch {
	case etag == "":
		return etagEmpty, sum, 0
	case len(etag) == 32:
		if decodeHex16(&sum, etag) {
			return etagMD5, sum, 0
		}
	case len(etag) > 33 && etag[32] == '-':
		// Only the canonical decimal form, so that decoding gives it back.
		p, err := strconv.ParseUint(etag[33:], 10, 64)
		if err != nil || etag[33] == '0' {
			break
		}
		if decodeHex16(&sum, etag) {
			return etagMultipart, sum, p
		}
	}
	return etagText, [16]byte{}, 0
}

// hexValue maps a lowercase hex digit to its value and any other byte to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
	}
	return t
}()

// decodeHex16 decodes the first 32 characters of s, lowercase hex digits,
// reporting whether they all were. It has no data-dependent branches, since
// the digits of an MD5 are random.
func decodeHex16(dst *[16]byte, s string) bool {
	s = s[:32]
	var bad byte
	for i := range dst {
		hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
		bad |= hi | lo
		dst[i] = hi<<4 | lo
	}
	return bad&0xf0 == 0
}

func chunkHash(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:16])
}

// ChunkDecoder decodes snapshot chunks. It keeps its buffers between calls;
// the zero value is ready to use. It is not safe for concurrent use.
type ChunkDecoder struct {
	fr   io.ReadCloser
	raw  bytes.Buffer
	offs []uint32
	buf  []byte
}

// DecodeChunk decodes one chunk into a new slice of objects.
func DecodeChunk(data []byte) ([]Object, error) {
	var d ChunkDecoder
	objs, _, err := d.Decode(data, nil)
	return objs, err
}

// Decode decompresses and decodes data, appending its objects to dst[:0] and
// returning the result together with the chunk's hash. Memory is bounded by one
// chunk. The strings of the objects share one allocation per chunk and never
// change; dst may be reused for the next chunk once the objects are no longer
// read from it.
func (d *ChunkDecoder) Decode(data []byte, dst []Object) ([]Object, string, error) {
	if d.fr == nil {
		d.fr = flate.NewReader(bytes.NewReader(data))
	} else if err := d.fr.(flate.Resetter).Reset(bytes.NewReader(data), nil); err != nil {
		return nil, "", fmt.Errorf("decode chunk: %w", err)
	}
	d.raw.Reset()
	if _, err := d.raw.ReadFrom(io.LimitReader(d.fr, maxRawChunk+1)); err != nil {
		return nil, "", fmt.Errorf("decode chunk: %w: %w", ErrCorruptChunk, err)
	}
	if d.raw.Len() > maxRawChunk {
		return nil, "", fmt.Errorf("decode chunk: %w: larger than %d bytes", ErrCorruptChunk, maxRawChunk)
	}
	raw := d.raw.Bytes()
	objs, err := d.parse(raw, dst[:0])
	if err != nil {
		return nil, "", fmt.Errorf("decode chunk: %w: %w", ErrCorruptChunk, err)
	}
	return objs, chunkHash(raw), nil
}

// reader reads the varints and byte runs of a chunk text.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
	r.b = nil
}

func (d *ChunkDecoder) parse(raw []byte, dst []Object) ([]Object, error) {
	h := reader{b: raw}
	if v := h.byte(); h.err == nil && v != chunkVersion {
		return nil, fmt.Errorf("unknown version %d", v)
	}
	count := h.uvarint()
	unit := h.byte()
	nclass := h.uvarint()
	if h.err != nil {
		return nil, h.err
	}
	if count > uint64(len(raw)) || nclass > count+1 || unit > subNano {
		return nil, errors.New("bad header")
	}
	classes := make([]string, nclass)
	for i := range classes {
		classes[i] = string(h.bytes(h.uvarint()))
	}
	var cols [numCols]reader
	for i := range cols {
		cols[i].b = h.bytes(h.uvarint())
	}
	if h.err != nil {
		return nil, h.err
	}
	if len(h.b) != 0 {
		return nil, errors.New("trailing bytes")
	}

	// First pass: rebuild keys and ETags into one buffer, remembering where
	// each lies, so that all strings of the chunk share a single allocation.
	n := int(count)
	buf := d.buf[:0]
	offs := d.offs[:0]
	prevOff, prevLen := 0, 0
	var hexbuf [32]byte
	for range n {
		shared := cols[colShared].uvarint()
		suffix := cols[colSuffix].bytes(cols[colSuffixLen].uvarint())
		if shared > uint64(prevLen) {
			return nil, errors.New("bad key prefix")
		}
		keyOff := len(buf)
		buf = append(buf, buf[prevOff:prevOff+int(shared)]...)
		buf = append(buf, suffix...)
		prevOff, prevLen = keyOff, len(buf)-keyOff

		etagOff := len(buf)
		switch cols[colETagKind].byte() {
		case etagEmpty:
		case etagMD5:
			sum := cols[colETagData].bytes(16)
			if sum != nil {
				hex.Encode(hexbuf[:], sum)
				buf = append(buf, hexbuf[:]...)
			}
		case etagMultipart:
			sum := cols[colETagData].bytes(16)
			parts := cols[colETagData].uvarint()
			if sum != nil {
				hex.Encode(hexbuf[:], sum)
				buf = append(buf, hexbuf[:]...)
				buf = append(buf, '-')
				buf = strconv.AppendUint(buf, parts, 10)
			}
		case etagText:
			buf = append(buf, cols[colETagData].bytes(cols[colETagData].uvarint())...)
		default:
			return nil, errors.New("bad etag kind")
		}
		offs = append(offs, uint32(keyOff), uint32(etagOff), uint32(len(buf)))
	}
	for i := range cols {
		if cols[i].err != nil {
			return nil, fmt.Errorf("column %d: %w", i, cols[i].err)
		}
	}
	d.buf, d.offs = buf, offs
	all := string(buf)

	// Second pass: the fixed-size fields.
	var sec int64
	for i := range n {
		class := cols[colClass].uvarint()
		size := cols[colSize].uvarint()
		sec += cols[colSeconds].varint()
		var ns int64
		switch unit {
		case subMilli:
			ns = int64(cols[colSubsec].uvarint()) * 1e6
		case subNano:
			ns = int64(cols[colSubsec].uvarint())
		}
		if class >= nclass || size > 1<<63-1 || ns >= 1e9 {
			return nil, errors.New("bad field")
		}
		o := offs[3*i : 3*i+3]
		dst = append(dst, Object{
			Key:          all[o[0]:o[1]],
			ETag:         all[o[1]:o[2]],
			Size:         int64(size),
			LastModified: time.Unix(sec, ns).UTC(),
			StorageClass: classes[class],
		})
	}
	for i := range cols {
		if cols[i].err != nil {
			return nil, fmt.Errorf("column %d: %w", i, cols[i].err)
		}
		if len(cols[i].b) != 0 {
			return nil, fmt.Errorf("column %d: trailing bytes", i)
		}
	}
	return dst, nil
}
