package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

func TestIsSecret(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"api_key", true}, {"apiKey", true}, {"authKey", true}, {"auth_key", true}, {"AUTH-KEY", true},
		{"Authorization", true}, {"__OW_API_KEY", true}, {"s3_secret_access_key", true}, {"client_secret", true},
		{"password", true}, {"couch_password", true}, {"token", true}, {"webhook_token", true},
		{"bucket", false}, {"s3_access_key_id", false}, {"activation_id", false}, {"transaction_id", false},
		{"key", false}, {"authority", false},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			assert.Equal(t, tc.want, runtime.IsSecret(tc.key))
		})
	}
}

type creds struct {
	AccessKeyID string `json:"s3_access_key_id"`
	Secret      string `json:"s3_secret_access_key"`
}

func TestRedactSecrets(t *testing.T) {
	tests := []struct {
		name   string
		attrs  []any
		hidden []string
		shown  []string
	}{
		{"flat keys", []any{"api_key", "K1", "authKey", "K2", "password", "K3", "token", "K4", "bucket", "b1"},
			[]string{"K1", "K2", "K3", "K4"}, []string{"b1"}},
		{"in a group", []any{slog.Group("couch", "url", "http://c", "password", "K1")}, []string{"K1"}, []string{"http://c"}},
		{"whole secret group", []any{slog.Group("secrets", "a", "K1", "b", "K2")}, []string{"K1", "K2"}, nil},
		{"nested map", []any{"params", map[string]any{"bucket": "b1", "deep": []any{map[string]any{"authKey": "K1"}}}},
			[]string{"K1"}, []string{"b1"}},
		{"map of strings", []any{"headers", map[string]string{"authorization": "Basic K1", "accept": "a1"}}, []string{"K1"}, []string{"a1"}},
		{"struct by JSON tags", []any{"creds", creds{AccessKeyID: "AKID", Secret: "K1"}}, []string{"K1"}, []string{"AKID"}},
		{"pointer to struct", []any{"creds", &creds{AccessKeyID: "AKID", Secret: "K1"}}, []string{"K1"}, []string{"AKID"}},
		{"raw JSON", []any{"params", json.RawMessage(`{"s3_secret_access_key":"K1","n":1}`)}, []string{"K1"}, []string{`"n":1`}},
		{"activation", []any{"act", runtime.Activation{ActivationID: "a1", APIKey: "uuid:K1"}}, []string{"K1"}, []string{"a1"}},
		{"activation in a map", []any{"m", map[string]any{"act": runtime.Activation{ActivationID: "a1", APIKey: "uuid:K1"}}},
			[]string{"K1"}, []string{"a1"}},
		{"plain values untouched", []any{"n", 3, "list", []string{"x1"}, "err", fmt.Errorf("e1")}, nil, []string{"3", "x1", "e1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: runtime.RedactSecrets}))
			log.Info("msg", tc.attrs...)
			out := buf.String()
			require.True(t, json.Valid(buf.Bytes()), out)
			for _, s := range tc.hidden {
				assert.NotContains(t, out, s)
			}
			for _, s := range tc.shown {
				assert.Contains(t, out, s)
			}
		})
	}
}

func TestActivationNeverPrintsAPIKey(t *testing.T) {
	a := runtime.Activation{ActionName: "/ns/a", ActivationID: "id1", APIKey: "uuid:TOPSECRET", Deadline: time.UnixMilli(1)}
	js, err := json.Marshal(a)
	require.NoError(t, err)
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("m", "activation", a) // even without RedactSecrets
	for name, s := range map[string]string{
		"String": a.String(), "%v": fmt.Sprintf("%v", a), "%+v": fmt.Sprintf("%+v", a), "%#v": fmt.Sprintf("%#v", a),
		"%s": fmt.Sprintf("%s", a), "pointer": fmt.Sprintf("%v", &a), "JSON": string(js), "slog": logBuf.String(),
	} {
		t.Run(name, func(t *testing.T) {
			assert.NotContains(t, s, "TOPSECRET")
			assert.Contains(t, s, "id1")
			assert.Contains(t, s, "[REDACTED]")
		})
	}
	assert.Equal(t, "uuid:TOPSECRET", a.APIKey, "the field itself stays usable")
}

func TestLoggerOutsideActivation(t *testing.T) {
	assert.Same(t, slog.Default(), runtime.Logger(context.Background()))
	_, ok := runtime.ActivationFrom(context.Background())
	assert.False(t, ok)
}
