package main

import (
	"cmp"
	"context"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

type input struct {
	Name string `json:"name"`
}

type output struct {
	Greeting string `json:"greeting"`
}

func main() {
	runtime.Start(runtime.Typed(func(_ context.Context, in input) (output, error) {
		return output{Greeting: "Hello, " + cmp.Or(in.Name, "stranger") + "!"}, nil
	}))
}
