// Command testaction is the action binary that the runtime's end-to-end tests
// build and drive over stdin and fd 3. The parameter "op" selects what it does;
// requests carrying __ow_method go to a web handler.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

type params struct {
	Op      string         `json:"op"`
	Size    int            `json:"size"`
	Secrets map[string]any `json:"secrets"`
}

type echo struct {
	Count        int                `json:"count"`
	EnvID        string             `json:"env_activation_id"`
	EnvDeadline  string             `json:"env_deadline"`
	EnvAPIHost   string             `json:"env_api_host"`
	Activation   runtime.Activation `json:"activation"`
	DeadlineMS   int64              `json:"deadline_ms"`
	HasDeadline  bool               `json:"has_deadline"`
	Data         string             `json:"data,omitempty"`
	ActivationOK bool               `json:"activation_ok"`
	APIKeyLen    int                `json:"api_key_len"`
}

var count int // kept between activations of one process

func invoke(ctx context.Context, p params) (any, error) {
	count++
	act, ok := runtime.ActivationFrom(ctx)
	_, hasDeadline := ctx.Deadline()
	e := echo{
		Count:        count,
		EnvID:        os.Getenv("__OW_ACTIVATION_ID"),
		EnvDeadline:  os.Getenv("__OW_DEADLINE"),
		EnvAPIHost:   os.Getenv("__OW_API_HOST"),
		Activation:   act,
		DeadlineMS:   act.Deadline.UnixMilli(),
		HasDeadline:  hasDeadline,
		ActivationOK: ok,
		APIKeyLen:    len(act.APIKey),
	}
	switch p.Op {
	case "echo":
		return e, nil
	case "wait":
		<-ctx.Done()
		return nil, fmt.Errorf("wait for work: %w", ctx.Err())
	case "fail":
		return nil, runtime.Errorf(http.StatusConflict, "update record %q: conflict", "t1")
	case "panic":
		panic("boom from testaction")
	case "big":
		return map[string]string{"data": strings.Repeat("x", p.Size)}, nil
	case "string":
		return "not an object", nil
	case "log":
		log := runtime.Logger(ctx)
		log.Info("activation", "activation", act, "params", p.Secrets)
		log.Info("credentials", "api_key", act.APIKey, "authKey", p.Secrets["authKey"],
			slog.Group("s3", "s3_secret_access_key", p.Secrets["s3_secret_access_key"]))
		fmt.Println("stdout:", act, fmt.Sprintf("%#v", act))
		return e, nil
	default:
		return nil, runtime.Errorf(http.StatusBadRequest, "invalid parameter \"op\": unknown %q", p.Op)
	}
}

func web(ctx context.Context, r *runtime.WebRequest) (*runtime.WebResponse, error) {
	switch r.Path {
	case "/reverse": // echoes the body reversed, with its content type
		b := bytes.Clone(r.Body)
		slices.Reverse(b)
		return &runtime.WebResponse{StatusCode: http.StatusCreated, Headers: map[string]string{"Content-Type": r.Header("content-type")}, Body: b}, nil
	case "/fail":
		return nil, runtime.Errorf(http.StatusForbidden, "check owner of trigger %q: not allowed", "t1")
	default:
		return runtime.JSONResponse(http.StatusOK, map[string]any{
			"method": r.Method, "path": r.Path, "query": r.Query, "params": r.Params,
			"body": string(r.Body), "content_type": r.Header("Content-Type"), "user": r.User,
		})
	}
}

func main() {
	typed := runtime.Typed(invoke)
	webHandler := runtime.Web(web)
	runtime.Start(runtime.HandlerFunc(func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Method *string `json:"__ow_method"`
		}
		if json.Unmarshal(raw, &probe) == nil && probe.Method != nil {
			return webHandler.Invoke(ctx, raw)
		}
		return typed.Invoke(ctx, raw)
	}))
}
