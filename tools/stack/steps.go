package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// step is one numbered line of the command's progress.
type step struct {
	name string
	// run does the work; what it writes to w appears indented under the
	// step. It returns a skipError to report the step as skipped.
	run func(ctx context.Context, w io.Writer) error
}

// skipError marks a step that had nothing to do or could not be done yet.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "skipped: " + e.reason }

func skip(format string, args ...any) error { return &skipError{reason: fmt.Sprintf(format, args...)} }

// runSteps runs the steps in order and stops at the first failure, whose
// error names the step.
func runSteps(ctx context.Context, out io.Writer, steps []step) error {
	for i, s := range steps {
		fmt.Fprintf(out, "[%d/%d] %s …", i+1, len(steps), s.name)
		pw := &indentWriter{out: out}
		begin := time.Now()
		err := s.run(ctx, pw)
		elapsed := time.Since(begin).Seconds()
		lead := " "
		if pw.wrote {
			if !pw.atLineStart {
				fmt.Fprintln(out)
			}
			lead = "      "
		}
		var sk *skipError
		switch {
		case errors.As(err, &sk):
			fmt.Fprintf(out, "%s%s (%.1fs)\n", lead, sk.Error(), elapsed)
		case err != nil:
			fmt.Fprintf(out, "%sFAILED (%.1fs)\n", lead, elapsed)
			return fmt.Errorf("step %d/%d %s: %w", i+1, len(steps), s.name, err)
		default:
			fmt.Fprintf(out, "%sok (%.1fs)\n", lead, elapsed)
		}
	}
	return nil
}

// indentWriter puts a step's own output on lines of its own, indented.
type indentWriter struct {
	out         io.Writer
	wrote       bool
	atLineStart bool
}

func (w *indentWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !w.wrote {
		w.wrote, w.atLineStart = true, true
		if _, err := io.WriteString(w.out, "\n"); err != nil {
			return 0, err
		}
	}
	for _, b := range p {
		if w.atLineStart {
			if _, err := io.WriteString(w.out, "      "); err != nil {
				return 0, err
			}
		}
		if _, err := w.out.Write([]byte{b}); err != nil {
			return 0, err
		}
		w.atLineStart = b == '\n'
	}
	return len(p), nil
}
