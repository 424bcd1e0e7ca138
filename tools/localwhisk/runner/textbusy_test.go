//go:build linux

package runner

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStartWhileExecIsBusy: Linux refuses to execute a file that is open
// for writing (ETXTBSY). A just-unpacked exec is in that state while a child
// forked meanwhile by another goroutine still holds the descriptor (until
// the child execs), so concurrent cold starts failed now and then with
// "text file busy". The start now waits for the file to be released, for a
// bounded time.
func TestStartWhileExecIsBusy(t *testing.T) {
	tests := []struct {
		name    string
		release time.Duration // when the writer lets go; 0: never
	}{
		{"released shortly", 100 * time.Millisecond},
		{"never released", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := unpack(actionZip, filepath.Join(t.TempDir(), "a"), "go:1.22")
			require.NoError(t, err)
			writer, err := os.OpenFile(filepath.Join(u.dir, "exec"), os.O_WRONLY, 0)
			require.NoError(t, err)
			t.Cleanup(func() { writer.Close() })
			if tc.release > 0 {
				time.AfterFunc(tc.release, func() { writer.Close() })
			}

			pr := newProc("guest/busy@0.0.1", "guest")
			var wg sync.WaitGroup
			err = pr.start(&wg, u, []string{"PATH=" + defaultPath}, 1<<20)
			if tc.release == 0 {
				require.ErrorIs(t, err, syscall.ETXTBSY, "a file that stays busy fails the start")
				return
			}
			require.NoError(t, err, "the start waits until the file is released")
			assert.Positive(t, pr.pid)
			pr.destroy()
			wg.Wait()
		})
	}
}
