package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func lineTexts(lines []logLine) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, streamNames[l.stream]+": "+l.text)
	}
	return out
}

func TestCollectorSegments(t *testing.T) {
	long := strings.Repeat("x", 40)
	tests := []struct {
		name     string
		limit    int
		stdout   string
		stderr   string
		segments [][]string
		cut      []bool
	}{
		{
			name:   "sentinels split activations",
			limit:  1000,
			stdout: "a\n\nb\n" + Sentinel + "\nc\n" + Sentinel + "\nafter\n",
			stderr: Sentinel + "\ne\n" + Sentinel + "\n",
			segments: [][]string{
				{"stdout: a", "stdout: ", "stdout: b"},
				{"stdout: c", "stderr: e"},
				{"stdout: after"},
			},
			cut: []bool{false, false, false},
		},
		{
			name:     "output without newline before the sentinel",
			limit:    1000,
			stdout:   "partial" + Sentinel + "\n",
			stderr:   Sentinel + "\n",
			segments: [][]string{{"stdout: partial"}},
			cut:      []bool{false},
		},
		{
			name:     "long line cut but its sentinel still seen",
			limit:    16,
			stdout:   long + Sentinel + "\nnext\n" + Sentinel + "\n",
			stderr:   Sentinel + "\n" + Sentinel + "\n",
			segments: [][]string{{}, {"stdout: next"}}, // a line longer than the limit cannot be kept
			cut:      []bool{true, false},
		},
		{
			name:     "segment over the limit is marked truncated",
			limit:    11,
			stdout:   "12345\n6789\nabc\n" + Sentinel + "\n",
			stderr:   Sentinel + "\n",
			segments: [][]string{{"stdout: 12345", "stdout: 6789"}},
			cut:      []bool{true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCollector(tc.limit)
			c.read(streamStdout, strings.NewReader(tc.stdout))
			c.read(streamStderr, strings.NewReader(tc.stderr))
			for i, want := range tc.segments {
				lines, truncated, ok := c.take(time.Second)
				assert.True(t, ok)
				assert.Equal(t, want, lineTexts(lines), "segment %d", i)
				assert.Equal(t, tc.cut[i], truncated, "segment %d", i)
			}
		})
	}
}

func TestCollectorGivesUp(t *testing.T) {
	c := newCollector(100)
	c.read(streamStdout, strings.NewReader("only stdout\n"+Sentinel+"\n"))
	lines, _, ok := c.take(10 * time.Millisecond) // stderr never sends its sentinel
	assert.False(t, ok)
	assert.Equal(t, []string{"stdout: only stdout"}, lineTexts(lines))
}

func TestRender(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 120000000, time.UTC)
	lines := []logLine{
		{at: at, stream: streamStdout, text: "  indented\t"},
		{at: at.Add(time.Millisecond), stream: streamStderr, text: "second"},
		{at: at.Add(2 * time.Millisecond), stream: streamStdout, text: "third"},
	}
	out := render(lines, false, 1000)
	assert.Equal(t, []string{
		"2024-01-02T03:04:05.12Z        stdout: indented",
		"2024-01-02T03:04:05.121Z       stderr: second",
		"2024-01-02T03:04:05.122Z       stdout: third",
	}, out)

	out = render(lines, false, 20) // "  indented\t" (12) + "second" (7) fit, "third" does not
	assert.Len(t, out, 3)
	assert.True(t, strings.HasSuffix(out[2], " stderr: Logs were truncated because the total bytes size exceeds the limit of 20 bytes."))
}
