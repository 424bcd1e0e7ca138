package deploy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testEnv(k string) string {
	return map[string]string{"HOST": "db", "PORT": "5984", "EMPTY": "", "N": "42", "FLAG": "yes", "JSON": `{"a":1}`}[k]
}

func TestInterpolate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"$HOST", "db"},
		{"${HOST}", "db"},
		{"http://${HOST}:${PORT}/x", "http://db:5984/x"},
		{"$HOST:$PORT", "db:5984"},
		{"$UNSET", ""},
		{"$$", "$$"}, // not a variable
		{"$", "$"},
		{"$${HOST}", "${HOST}"},
		{"a$${HOST}b${PORT}", "a${HOST}b5984"},
		{"price: 5$", "price: 5$"},           // no leading '$' and no "${": untouched
		{"user$HOST", "user$HOST"},           // as wskdeploy: untouched
		{"${HOST", "${HOST"},                 // unterminated
		{"$HOST/path-$PORT", "db/path-5984"}, // names end at the first non-name byte
		{"x ${EMPTY}y", "x y"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, interpolate(tc.in, testEnv))
		})
	}
}

func TestResolveInput(t *testing.T) {
	tests := []struct {
		name    string
		in      inputDef
		want    any
		wantTyp string
		wantErr string
	}{
		{name: "single string", in: inputDef{value: "$HOST"}, want: "db", wantTyp: typeString},
		{name: "single null", in: inputDef{}, want: "", wantTyp: typeString},
		{name: "single integer", in: inputDef{value: 5}, want: 5, wantTyp: typeInteger},
		{name: "single float", in: inputDef{value: 0.5}, want: 0.5, wantTyp: typeFloat},
		{name: "single bool", in: inputDef{value: true}, want: true, wantTyp: typeBoolean},
		{name: "single list", in: inputDef{value: []any{"a", 1}}, want: []any{"a", 1}, wantTyp: typeSlice},
		{name: "typed empty string", in: inputDef{value: "string"}, want: "", wantTyp: typeString},
		{name: "typed empty integer", in: inputDef{value: "integer"}, want: 0, wantTyp: typeInteger},
		{name: "typed empty json", in: inputDef{value: "json"}, want: map[string]any{}, wantTyp: typeJSON},
		{name: "alias is not a typed empty", in: inputDef{value: "int"}, want: "int", wantTyp: typeString},
		{name: "multi value", in: inputDef{multiline: true, typ: "string", value: "${HOST}"}, want: "db", wantTyp: typeString},
		{name: "multi default", in: inputDef{multiline: true, typ: "string", def: "$PORT"}, want: "5984", wantTyp: typeString},
		{name: "multi value wins over default", in: inputDef{multiline: true, value: "v", def: "d"}, want: "v", wantTyp: typeString},
		{name: "multi neither", in: inputDef{multiline: true, typ: "integer"}, want: 0, wantTyp: typeInteger},
		{name: "multi inferred type", in: inputDef{multiline: true, value: 3}, want: 3, wantTyp: typeInteger},
		{name: "alias int", in: inputDef{multiline: true, typ: "int", value: 7}, want: 7, wantTyp: typeInteger},
		{name: "alias bool", in: inputDef{multiline: true, typ: "bool", value: false}, want: false, wantTyp: typeBoolean},
		{name: "integer from env", in: inputDef{multiline: true, typ: "integer", value: "$N"}, want: int64(42), wantTyp: typeInteger},
		{name: "float from string", in: inputDef{multiline: true, typ: "float", value: "1.5"}, want: 1.5, wantTyp: typeFloat},
		{name: "boolean from env", in: inputDef{multiline: true, typ: "boolean", value: "$FLAG"}, want: true, wantTyp: typeBoolean},
		{name: "json mapping interpolated", in: inputDef{multiline: true, typ: "json", value: map[string]any{"h": "$HOST", "n": map[string]any{"p": "${PORT}"}, "k": 1}},
			want: map[string]any{"h": "db", "n": map[string]any{"p": "5984"}, "k": 1}, wantTyp: typeJSON},
		{name: "json string parsed", in: inputDef{multiline: true, typ: "json", value: `{"a":[1,2]}`}, want: map[string]any{"a": []any{1.0, 2.0}}, wantTyp: typeJSON},
		{name: "map alias", in: inputDef{multiline: true, typ: "map", value: map[string]any{}}, want: map[string]any{}, wantTyp: typeJSON},
		{name: "bad type", in: inputDef{multiline: true, typ: "number", value: 1}, wantErr: `type "number"`},
		{name: "bad integer", in: inputDef{multiline: true, typ: "integer", value: "x"}, wantErr: "not an integer"},
		{name: "bad float", in: inputDef{multiline: true, typ: "float", value: "x"}, wantErr: "not a number"},
		{name: "bad boolean", in: inputDef{multiline: true, typ: "boolean", value: "maybe"}, wantErr: "not true or false"},
		{name: "bad json string", in: inputDef{multiline: true, typ: "json", value: "{"}, wantErr: "not valid JSON"},
		{name: "json from number", in: inputDef{multiline: true, typ: "json", value: 3}, wantErr: "expected a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := resolveInput(tc.in, testEnv)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, r.value)
			assert.Equal(t, tc.wantTyp, r.typ)
		})
	}
}

func TestDisplayRedactsSecrets(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value any
		want  string
	}{
		{name: "plain", key: "bucket", value: "demo", want: `"demo"`},
		{name: "number", key: "interval", value: 5, want: "5"},
		{name: "secret name", key: "s3_secret_access_key", value: "abc", want: redacted},
		{name: "token", key: "webhookToken", value: "abc", want: redacted},
		{name: "password", key: "COUCH_PASSWORD", value: "abc", want: redacted},
		{name: "key", key: "encryption_key", value: "abc", want: redacted},
		{name: "auth key", key: "authKey", value: "u:k", want: redacted},
		{name: "url password", key: "couch_url", value: "http://admin:pw@db:5984/x", want: `"http://admin:***@db:5984/x"`},
		{name: "url without password", key: "couch_url", value: "http://db:5984", want: `"http://db:5984"`},
		{name: "nested", key: "config", value: map[string]any{"token": "t", "n": 1}, want: "{n: 1, token: ***}"},
		{name: "long", key: "doc", value: "0123456789012345678901234567890123456789012345678901234567890123456789", want: `"012345678901234567890123456789012345678901234567890123456789…"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, display(tc.key, tc.value))
		})
	}
}
