package runtime_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

type greeting struct {
	Name string `json:"name"`
}

type reply struct {
	Message string `json:"message"`
}

// An action's main is runtime.Start(runtime.Typed(f)); Serve is the same loop
// over any reader and writer.
func ExampleServe() {
	h := runtime.Typed(func(ctx context.Context, in greeting) (reply, error) {
		act, _ := runtime.ActivationFrom(ctx)
		return reply{Message: "hello " + in.Name + " from " + act.ActivationID}, nil
	})
	in := strings.NewReader(`{"value":{"name":"ana"},"activation_id":"a1"}` + "\n" + `{"value":{"name":"bo"},"activation_id":"a2"}` + "\n")
	if err := runtime.Serve(context.Background(), h, in, os.Stdout, runtime.WithLogOutput(io.Discard)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"ok":true}
	// {"message":"hello ana from a1"}
	// {"message":"hello bo from a2"}
}

func ExampleWeb() {
	h := runtime.Web(func(ctx context.Context, r *runtime.WebRequest) (*runtime.WebResponse, error) {
		if r.Header("Authorization") != "Bearer t0k" {
			return nil, runtime.Errorf(http.StatusUnauthorized, "check webhook token: mismatch")
		}
		return &runtime.WebResponse{Headers: map[string]string{"Content-Type": "text/plain"}, Body: []byte("got " + string(r.Body))}, nil
	})
	in := strings.NewReader(
		`{"value":{"__ow_method":"post","__ow_headers":{"authorization":"Bearer t0k","content-type":"text/plain"},"__ow_body":"ping"}}` + "\n" +
			`{"value":{"__ow_method":"post","__ow_headers":{}}}` + "\n")
	if err := runtime.Serve(context.Background(), h, in, os.Stdout, runtime.WithLogOutput(io.Discard)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"ok":true}
	// {"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"got ping"}
	// {"statusCode":401,"headers":{"Content-Type":"application/json"},"body":{"error":"check webhook token: mismatch"}}
}
