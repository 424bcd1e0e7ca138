package main

import (
	"context"
	"encoding/json"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/tools/bench/record"
)

func main() {
	runtime.Start(runtime.HandlerFunc(func(ctx context.Context, params json.RawMessage) (any, error) {
		return record.Report(ctx, params)
	}))
}
