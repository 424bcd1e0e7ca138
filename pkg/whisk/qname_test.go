package whisk_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

func TestParseQName(t *testing.T) {
	tests := []struct {
		in   string
		want whisk.QName
		path string
	}{
		{"a", whisk.QName{Name: "a"}, ""},
		{"pkg/a", whisk.QName{Package: "pkg", Name: "a"}, "/pkg"},
		{"/guest/a", whisk.QName{Namespace: "guest", Name: "a"}, "guest"},
		{"/_/t", whisk.QName{Namespace: "_", Name: "t"}, "_"},
		{"/_/alarms/alarm", whisk.QName{Namespace: "_", Package: "alarms", Name: "alarm"}, "_/alarms"},
		{"/whisk.system/s3-trigger-feed/changes", whisk.QName{Namespace: "whisk.system", Package: "s3-trigger-feed", Name: "changes"}, "whisk.system/s3-trigger-feed"},
		{"/guest/my trigger@home&away", whisk.QName{Namespace: "guest", Name: "my trigger@home&away"}, "guest"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := whisk.ParseQName(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.in, got.String(), "round trip")
			if tc.want.Namespace != "" {
				assert.Equal(t, tc.path, got.Path())
			}
		})
	}
}

func TestParseQNameRejects(t *testing.T) {
	for _, in := range []string{"", "/", "/guest", "/a/b/c/d", "a/b/c", "//a", "/guest/", "pkg/"} {
		t.Run(in, func(t *testing.T) {
			_, err := whisk.ParseQName(in)
			assert.Error(t, err)
		})
	}
}

func TestQNameInNamespace(t *testing.T) {
	assert.Equal(t, "/guest/pkg/a", whisk.MustParseQName("pkg/a").InNamespace("guest").String())
	assert.Equal(t, "/other/a", whisk.MustParseQName("/other/a").InNamespace("guest").String())
}

func TestEntityRefDecodes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"path":"guest/s3","name":"poll"}`, "/guest/s3/poll"},
		{`{"path":"guest","name":"t"}`, "/guest/t"},
		{`"/guest/s3/poll"`, "/guest/s3/poll"},
	}
	for _, tc := range tests {
		var r whisk.EntityRef
		require.NoError(t, json.Unmarshal([]byte(tc.in), &r))
		assert.Equal(t, tc.want, r.String())
	}
}

func TestKeyValues(t *testing.T) {
	kv := whisk.FromMap(map[string]any{"b": 2.0, "a": "x", "flag": true})
	assert.Equal(t, whisk.KeyValues{{Key: "a", Value: "x"}, {Key: "b", Value: 2.0}, {Key: "flag", Value: true}}, kv, "sorted by key")

	s, ok := kv.LookupString("a")
	assert.True(t, ok)
	assert.Equal(t, "x", s)
	_, ok = kv.LookupString("b")
	assert.False(t, ok, "not a string")
	b, ok := kv.LookupBool("flag")
	assert.True(t, ok && b)
	_, ok = kv.Lookup("missing")
	assert.False(t, ok)

	set := kv.With("b", 3.0).With("c", nil)
	assert.Equal(t, map[string]any{"a": "x", "b": 3.0, "flag": true, "c": nil}, set.Map())
	assert.Equal(t, 2.0, kv.Map()["b"], "With does not modify the receiver")
	assert.Equal(t, whisk.KeyValues{{Key: "a", Value: "x"}, {Key: "flag", Value: true}}, kv.Without("b"))
	assert.Len(t, kv, 3, "Without does not modify the receiver")

	out, err := json.Marshal(whisk.KeyValues{{Key: "k", Value: "v", Init: true}, {Key: "n", Value: 1}})
	require.NoError(t, err)
	assert.JSONEq(t, `[{"key":"k","value":"v","init":true},{"key":"n","value":1}]`, string(out))
}

func TestPackageBindingForms(t *testing.T) {
	tests := []struct {
		name, in string
		binding  bool
	}{
		{"get of a package", `{"name":"p","binding":{}}`, false},
		{"list row", `{"name":"p","binding":false}`, false},
		{"binding", `{"name":"b","binding":{"namespace":"whisk.system","name":"alarms"}}`, true},
		{"absent", `{"name":"p"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p whisk.Package
			require.NoError(t, json.Unmarshal([]byte(tc.in), &p))
			assert.Equal(t, tc.binding, p.IsBinding())
		})
	}
	out, err := json.Marshal(whisk.Package{Publish: true})
	require.NoError(t, err)
	assert.JSONEq(t, `{"publish":true}`, string(out), "no binding field for a plain package")
}

func TestTriggerFeedAnnotation(t *testing.T) {
	var tr whisk.Trigger
	require.NoError(t, json.Unmarshal([]byte(`{"name":"t","annotations":[{"key":"feed","value":"/_/alarms/alarm"}],
		"rules":{"guest/r":{"action":{"path":"guest","name":"a"},"status":"active"}}}`), &tr))
	f, ok := tr.Feed()
	require.True(t, ok)
	assert.Equal(t, whisk.QName{Namespace: "_", Package: "alarms", Name: "alarm"}, f)
	assert.Equal(t, whisk.RuleActive, tr.Rules["guest/r"].Status)
	assert.Equal(t, "/guest/a", tr.Rules["guest/r"].Action.String())

	_, ok = whisk.Trigger{}.Feed()
	assert.False(t, ok)
}
