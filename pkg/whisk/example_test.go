package whisk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// exampleServer plays a tiny OpenWhisk: trigger "uploads" has an active rule,
// trigger "idle" has none, feed action /whisk.system/s3-trigger-feed/changes
// accepts CREATE unless the bucket is "missing".
func exampleServer() *httptest.Server {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /api/v1/namespaces/_/triggers/uploads", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusAccepted, map[string]string{"activationId": "8d0c2e6b4a0f4b1e8c2e6b4a0f4b1e8c"})
	})
	mux.HandleFunc("POST /api/v1/namespaces/_/triggers/idle", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT /api/v1/namespaces/_/triggers/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"namespace": "guest", "name": r.PathValue("name")})
	})
	mux.HandleFunc("GET /api/v1/namespaces/_/triggers/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"namespace": "guest", "name": r.PathValue("name"),
			"annotations": []map[string]any{{"key": "feed", "value": "/whisk.system/s3-trigger-feed/changes"}}})
	})
	mux.HandleFunc("DELETE /api/v1/namespaces/_/triggers/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"namespace": "guest", "name": r.PathValue("name")})
	})
	mux.HandleFunc("POST /api/v1/namespaces/whisk.system/actions/s3-trigger-feed/changes", func(w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		_ = json.NewDecoder(r.Body).Decode(&p)
		act := map[string]any{"activationId": "1f2e3d4c5b6a79881f2e3d4c5b6a7988", "namespace": "guest", "name": "changes"}
		if p["bucket"] == "missing" && p["lifecycleEvent"] == "CREATE" {
			act["response"] = map[string]any{"status": "application error", "success": false,
				"result": map[string]any{"error": "bucket missing does not exist"}}
			writeJSON(w, http.StatusBadGateway, act)
			return
		}
		act["response"] = map[string]any{"status": "success", "success": true, "result": map[string]any{"ok": true}}
		writeJSON(w, http.StatusOK, act)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "The requested resource does not exist.", "code": "b7e1"})
	})
	return httptest.NewServer(mux)
}

func ExampleClient_FireTrigger() {
	srv := exampleServer()
	defer srv.Close()
	ctx := context.Background()

	c, err := whisk.New(srv.URL, "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:secret")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"uploads", "idle", "gone"} {
		id, err := c.FireTrigger(ctx, whisk.QName{Name: name}, map[string]any{"bucket": "b", "key": "a.csv"})
		switch {
		case whisk.IsNotFound(err):
			fmt.Println(name, "does not exist")
		case err != nil:
			fmt.Println(name, "failed:", err)
		case id == "":
			fmt.Println(name, "fired, no active rule")
		default:
			fmt.Println(name, "fired as", id)
		}
	}
	// Output:
	// uploads fired as 8d0c2e6b4a0f4b1e8c2e6b4a0f4b1e8c
	// idle fired, no active rule
	// gone does not exist
}

func ExampleClient_CreateFeedTrigger() {
	srv := exampleServer()
	defer srv.Close()
	ctx := context.Background()
	c, err := whisk.New(srv.URL, "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:secret")
	if err != nil {
		fmt.Println(err)
		return
	}
	feed := whisk.MustParseQName("/whisk.system/s3-trigger-feed/changes")

	act, err := c.CreateFeedTrigger(ctx, whisk.QName{Name: "uploads"}, feed, map[string]any{"bucket": "b", "interval": 5})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("created, feed said:", string(act.Response.Result))

	// A failing feed rolls the trigger back and reports the feed's error.
	_, err = c.CreateFeedTrigger(ctx, whisk.QName{Name: "broken"}, feed, map[string]any{"bucket": "missing"})
	var actErr *whisk.ActionError
	if errors.As(err, &actErr) {
		fmt.Println("rolled back:", actErr.Message())
	}
	// Output:
	// created, feed said: {"ok":true}
	// rolled back: bucket missing does not exist
}

func ExampleParseQName() {
	for _, s := range []string{"/whisk.system/alarms/interval", "alarms/alarm", "/_/uploads"} {
		q, err := whisk.ParseQName(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("ns=%q pkg=%q name=%q\n", q.Namespace, q.Package, q.Name)
	}
	// Output:
	// ns="whisk.system" pkg="alarms" name="interval"
	// ns="" pkg="alarms" name="alarm"
	// ns="_" pkg="" name="uploads"
}
