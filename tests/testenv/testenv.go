package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// shared is one server started lazily and kept for the whole test binary.
type shared struct {
	once sync.Once
	proc *service.Proc
	err  error
}

var (
	mu      sync.Mutex
	inMain  bool
	servers = map[string]*shared{}
)

// Main runs the tests, then stops every server started for them, and exits
// with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	stopShared()
	os.Exit(code)
}

func stopShared() {
	mu.Lock()
	defer mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for name, s := range servers {
		if s.proc != nil {
			if err := s.proc.Stop(ctx); err != nil {
				fmt.Fprintf(os.Stderr, "testenv: stop %s: %v\n", name, err)
			}
		}
		delete(servers, name)
	}
}

// server returns the shared server of that name, starting it on first use;
// outside Main it starts one for this test only.
func server(t testing.TB, name string, start func(ctx context.Context) (*service.Proc, error)) *service.Proc {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs a real %s server; skipped in -short mode", name)
	}
	mu.Lock()
	useShared := inMain
	s := servers[name]
	if useShared && s == nil {
		s = &shared{}
		servers[name] = s
	}
	mu.Unlock()

	if !useShared {
		p, err := start(t.Context())
		if err != nil {
			t.Fatal(startFailure(name, err))
		}
		t.Cleanup(func() { stop(t, p) })
		return p
	}
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s.proc, s.err = start(ctx)
	})
	if s.err != nil {
		t.Fatal(startFailure(name, s.err))
	}
	return s.proc
}

func stop(t testing.TB, p *service.Proc) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Errorf("testenv: %v", err)
	}
}

func startFailure(name string, err error) string {
	if errors.Is(err, service.ErrNotInstalled) {
		return fmt.Sprintf("testenv: %s is not installed: run `make deps`\n%v", name, err)
	}
	return fmt.Sprintf("testenv: %v", err)
}
