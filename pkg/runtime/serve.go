package runtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"
)

// MaxResultSize is the largest result, in bytes of JSON, that an action may
// return: the platform's default limit (1 MB). Larger results become an error
// result that says so.
const MaxResultSize = 1 << 20

// ack is the line an action writes on its result channel when it is ready.
var ack = []byte(`{"ok":true}` + "\n")

type options struct {
	logOutput io.Writer
	logLevel  slog.Leveler
}

// Option configures Serve and Start.
type Option func(*options)

// WithLogOutput sets where the JSON logs go (default os.Stderr).
func WithLogOutput(w io.Writer) Option { return func(o *options) { o.logOutput = w } }

// WithLogLevel sets the lowest level logged (default slog.LevelInfo).
func WithLogLevel(l slog.Leveler) Option { return func(o *options) { o.logLevel = l } }

// Start runs h as the whole action process: it answers activations read from
// stdin on fd 3 (on stdout when fd 3 is not open, for running by hand) and
// logs JSON to stderr. It returns when stdin is closed and exits the process
// with status 1 after a handler panicked (once the panic's error result was
// written) or when fd 3 cannot be written.
func Start(h Handler, opts ...Option) {
	o := newOptions(opts)
	slog.SetDefault(newLogger(o.logOutput, o.logLevel))
	if err := Serve(context.Background(), h, os.Stdin, resultChannel(), opts...); err != nil {
		slog.Error("action stopped", "error", err)
		os.Exit(1)
	}
}

// Serve speaks the actionloop protocol over in and out: it writes the ack
// {"ok":true}, then for each line read from in (one activation) it exports
// the activation's __OW_* environment variables, calls h with a context that
// carries the activation (ActivationFrom), its logger (Logger) and expires at
// its deadline, and writes exactly one line of JSON to out: the result, or
// {"error": "..."} when the handler failed, the line was malformed or the
// result was invalid or larger than MaxResultSize.
//
// Serve blocks. It returns nil when in reaches EOF, an error wrapping ErrPanic
// after a handler panicked (its error result already written), an error when
// out cannot be written, and ctx.Err() when ctx ends; ctx is also the parent
// of each activation's context. Serve sets process environment variables and
// therefore must not run concurrently with another Serve.
func Serve(ctx context.Context, h Handler, in io.Reader, out io.Writer, opts ...Option) error {
	if h == nil {
		return errors.New("serve: nil handler")
	}
	o := newOptions(opts)
	base := newLogger(o.logOutput, o.logLevel)
	if _, err := out.Write(ack); err != nil {
		return fmt.Errorf("write ack: %w", err)
	}
	r := bufio.NewReader(in)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, readErr := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) == 0 && readErr != nil {
			if errors.Is(readErr, io.EOF) {
				return nil
			}
			return fmt.Errorf("read activation: %w", readErr)
		}
		result, panicErr := activate(ctx, h, line, base)
		if _, err := out.Write(append(result, '\n')); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
		if panicErr != nil {
			return panicErr
		}
		if readErr != nil { // last line without a newline
			if errors.Is(readErr, io.EOF) {
				return nil
			}
			return fmt.Errorf("read activation: %w", readErr)
		}
	}
}

func newOptions(opts []Option) options {
	o := options{logOutput: os.Stderr, logLevel: slog.LevelInfo}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// activate runs one activation line and returns the result line. A handler
// panic gives an error result and a non-nil panicErr.
func activate(ctx context.Context, h Handler, line []byte, base *slog.Logger) (result []byte, panicErr error) {
	in, err := decodeInput(line)
	if err != nil {
		base.Error("activation rejected", "error", err)
		return errorResult(err), nil
	}
	setEnv(in.env)
	act := in.act
	if act.APIHost == "" {
		act.APIHost = os.Getenv("__OW_API_HOST")
	}
	logger := base.With(slog.String("activation_id", act.ActivationID), slog.String("action", act.ActionName))

	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !act.Deadline.IsZero() {
		var cancelDeadline context.CancelFunc
		actx, cancelDeadline = context.WithDeadline(actx, act.Deadline)
		defer cancelDeadline()
	}
	actx = withLogger(WithActivation(actx, act), logger)

	start := time.Now()
	v, err := invoke(actx, h, in.params)
	var pe *panicError
	switch {
	case errors.As(err, &pe):
		logger.Error("action panicked", "error", pe.value, "stack", string(pe.stack))
		err = fmt.Errorf("%w: %v", ErrPanic, pe.value)
		return errorResult(err), fmt.Errorf("activation %s: %w", act.ActivationID, err)
	case err != nil:
		if actx.Err() != nil && !errors.Is(err, actx.Err()) {
			err = fmt.Errorf("%w (%w)", err, context.Cause(actx))
		}
		logger.Error("activation failed", "error", err, "status", HTTPStatus(err), "duration_ms", ms(time.Since(start)))
		return errorResult(err), nil
	}
	b, err := encodeResult(v)
	if err != nil {
		logger.Error("activation failed", "error", err)
		return errorResult(err), nil
	}
	logger.Debug("activation finished", "duration_ms", ms(time.Since(start)), "result_bytes", len(b))
	return b, nil
}

type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// invoke calls h and turns a panic into a *panicError.
func invoke(ctx context.Context, h Handler, params json.RawMessage) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return h.Invoke(ctx, params)
}

// ms returns d in milliseconds, for logs.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
