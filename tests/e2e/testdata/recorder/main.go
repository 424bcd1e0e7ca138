// Command recorder is the action the end-to-end tests bind to the users'
// triggers: it answers its parameters as its result, so every event fired
// at a trigger can be read back from the activation records.
package main

import (
	"context"
	"encoding/json"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

func main() {
	runtime.Start(runtime.HandlerFunc(func(_ context.Context, params json.RawMessage) (any, error) {
		return params, nil
	}))
}
