package feed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// WebPackageSuffix names the private package of a feed package: the public
// package "s3-trigger-feed" forwards to "s3-trigger-feed-web".
const WebPackageSuffix = "-web"

// Forward returns the handler of a public feed action of the given source
// kind. It holds no secret: it resolves the trigger's namespace (the action
// runs as the trigger's owner) and forwards the request to the private
// lifecycle web action of the same provider, answering what it answers.
func Forward(kind string) runtime.Handler {
	hc := &http.Client{}
	return runtime.HandlerFunc(func(ctx context.Context, raw json.RawMessage) (any, error) {
		params := map[string]any{}
		if err := runtime.DecodeParams(raw, &params); err != nil {
			return nil, err
		}
		act, _ := runtime.ActivationFrom(ctx)
		if name, ok := params[ParamTrigger].(string); ok && act.Namespace != "" {
			// "/_/T" (what wsk sends) names a trigger of the caller.
			parts := strings.Split(strings.TrimPrefix(name, "/"), "/")
			if len(parts) == 2 && parts[0] == whisk.DefaultNamespace {
				params[ParamTrigger] = "/" + act.Namespace + "/" + parts[1]
			}
		}
		params[ParamSource] = kind
		self, err := whisk.ParseQName(act.ActionName)
		if err != nil || self.Package == "" || act.APIHost == "" {
			return nil, fmt.Errorf("forward to lifecycle: cannot tell the provider from action %q on %q", act.ActionName, act.APIHost)
		}
		target := fmt.Sprintf("%s/api/v1/web/%s/%s/lifecycle.http", strings.TrimRight(act.APIHost, "/"),
			url.PathEscape(self.Namespace), url.PathEscape(self.Package+WebPackageSuffix))
		body, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("forward to lifecycle: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("forward to lifecycle: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("forward to lifecycle: %w", err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(io.LimitReader(resp.Body, runtime.MaxResultSize+1))
		if err != nil {
			return nil, fmt.Errorf("forward to lifecycle: read answer: %w", err)
		}
		var result map[string]any
		if err := json.Unmarshal(out, &result); err != nil {
			return nil, fmt.Errorf("forward to lifecycle: answer %d is not a JSON object: %.200s", resp.StatusCode, out)
		}
		if resp.StatusCode >= 300 {
			msg, _ := result["error"].(string)
			if msg == "" {
				msg = fmt.Sprintf("lifecycle answered %d", resp.StatusCode)
			}
			return nil, &runtime.Error{Status: resp.StatusCode, Err: errors.New(msg)}
		}
		return result, nil
	})
}
