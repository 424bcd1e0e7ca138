package runner

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	streamStdout = 0
	streamStderr = 1
)

var streamNames = [2]string{"stdout", "stderr"}

// logLine is one line of process output as read from a pipe.
type logLine struct {
	at     time.Time
	stream int
	text   string
}

// segment is the output of one stream between two sentinels.
type segment struct {
	lines     []logLine
	bytes     int
	truncated bool
}

func (s *segment) add(l logLine, limit int) {
	if s.truncated {
		return
	}
	n := len(l.text) + 1 // the newline counts, as in the platform's log driver
	if s.bytes+n > limit {
		s.truncated = true
		return
	}
	s.bytes += n
	s.lines = append(s.lines, l)
}

type streamState struct {
	cur    segment
	done   []segment
	closed bool
}

// collector splits the stdout and stderr of one process into per-activation
// segments at sentinel lines. It is safe for concurrent use.
type collector struct {
	limit int // bytes kept per stream and segment; also the longest line kept

	mu      sync.Mutex
	streams [2]streamState
	changed chan struct{}
}

func newCollector(limit int) *collector {
	return &collector{limit: limit, changed: make(chan struct{})}
}

func (c *collector) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// read consumes r line by line until it fails or ends. Lines longer than the
// limit are cut; a sentinel at the end of a line (after output that had no
// newline) still ends the segment.
func (c *collector) read(stream int, r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line, tail []byte
	total := 0 // full length of the current line
	keep := len(Sentinel) + 2
	for {
		frag, err := br.ReadSlice('\n')
		total += len(frag)
		if room := c.limit - len(line); room > 0 {
			line = append(line, frag[:min(room, len(frag))]...)
		}
		tail = append(tail, frag...)
		if len(tail) > keep {
			tail = append(tail[:0], tail[len(tail)-keep:]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if total > 0 {
			c.addLine(stream, line, total, tail)
			line, tail, total = line[:0], tail[:0], 0
		}
		if err != nil {
			c.mu.Lock()
			c.streams[stream].closed = true
			c.notifyLocked()
			c.mu.Unlock()
			return
		}
	}
}

// addLine records one line: head holds its first bytes (up to the limit),
// total is its full length and tail its last bytes.
func (c *collector) addLine(stream int, head []byte, total int, tail []byte) {
	now := time.Now()
	end := strings.TrimRight(string(tail), "\r\n")
	size := total - (len(tail) - len(end)) // without the line break
	sentinel := strings.HasSuffix(end, Sentinel)
	if sentinel {
		size -= len(Sentinel)
	}
	cut := size > len(head)
	text := string(head[:min(size, len(head))])

	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.streams[stream]
	switch {
	case cut:
		s.cur.truncated = true // a line longer than the whole limit cannot be kept
	case !sentinel || size > 0:
		s.cur.add(logLine{at: now, stream: stream, text: text}, c.limit)
	}
	if sentinel {
		s.done = append(s.done, s.cur)
		s.cur = segment{}
	}
	c.notifyLocked()
}

// take waits until both streams have delivered their next segment (or ended)
// and returns the lines of that segment in time order. ok is false when it
// gave up after wait; the caller must then stop using the process, whose
// segments are no longer in step.
func (c *collector) take(wait time.Duration) (lines []logLine, truncated, ok bool) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	expired := false
	for {
		c.mu.Lock()
		ready := true
		for i := range c.streams {
			if len(c.streams[i].done) == 0 && !c.streams[i].closed {
				ready = false
			}
		}
		if ready || expired {
			for i := range c.streams {
				s := &c.streams[i]
				var seg segment
				if len(s.done) > 0 {
					seg, s.done = s.done[0], s.done[1:]
				} else {
					seg, s.cur = s.cur, segment{}
				}
				lines = append(lines, seg.lines...)
				truncated = truncated || seg.truncated
			}
			c.mu.Unlock()
			slices.SortStableFunc(lines, func(a, b logLine) int { return a.at.Compare(b.at) })
			return lines, truncated, ready
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			expired = true // one more round collects what arrived, then returns
		}
	}
}

// render formats lines and applies the per-activation byte limit across both
// streams, adding the platform's truncation notice when it was exceeded.
func render(lines []logLine, truncated bool, limit int) []string {
	out := make([]string, 0, len(lines)+1)
	total := 0
	for _, l := range lines {
		n := len(l.text) + 1
		if total+n > limit {
			truncated = true
			break
		}
		total += n
		out = append(out, formatLog(l.at, streamNames[l.stream], l.text))
	}
	if truncated {
		out = append(out, formatLog(time.Now(), "stderr", msgLogsTruncated(limit)))
	}
	return out
}
