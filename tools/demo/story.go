package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// story prints the demo as numbered steps for someone who has never seen
// OpenWhisk.
type story struct {
	out io.Writer
	n   int
}

// skipError marks a step that was not done, and says why.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "skipped: " + e.reason }

// indent is the margin of everything printed under a step.
const indent = "    "

// step prints "N. title …", runs f, and ends the line with ok, skipped or
// FAILED and the time it took. Lines that f returns are printed under the
// step.
func (s *story) step(title string, f func() ([]string, error)) error {
	s.n++
	fmt.Fprintf(s.out, "%2d. %s …", s.n, title)
	begin := time.Now()
	notes, err := f()
	took := formatSeconds(time.Since(begin))
	var sk *skipError
	switch {
	case errors.As(err, &sk):
		fmt.Fprintf(s.out, " SKIPPED\n")
		notes = append(notes, sk.reason)
		err = nil
	case err != nil:
		fmt.Fprintf(s.out, " FAILED (%s)\n", took)
		notes = append(notes, explain(err))
	default:
		fmt.Fprintf(s.out, " ok (%s)\n", took)
	}
	s.lines(notes...)
	return err
}

// lines prints text under the current step.
func (s *story) lines(text ...string) {
	for _, t := range text {
		for l := range strings.SplitSeq(t, "\n") {
			fmt.Fprintln(s.out, strings.TrimRight(indent+l, " "))
		}
	}
}

// section prints a heading with no number.
func (s *story) section(title string) {
	fmt.Fprintf(s.out, "\n%s\n%s\n", title, strings.Repeat("-", len([]rune(title))))
}

// explain returns the most useful message of err for a person: the feed's
// or action's own error message when it has one.
func explain(err error) string {
	var ae *whisk.ActionError
	if errors.As(err, &ae) {
		if m := ae.Message(); m != "" {
			return m
		}
	}
	return err.Error()
}
