package deploy_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/deploy"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    deploy.Options
		wantErr string
	}{
		{name: "defaults", args: nil, want: deploy.Options{ManifestPath: "manifest.yaml"}},
		{
			name: "all flags",
			args: []string{"-m", "m.yaml", "--apihost", "http://127.0.0.1:3233", "--auth", "u:k", "--namespace", "guest",
				"--param", "couchdb_url", "http://db", "--param", "interval", "5"},
			want: deploy.Options{ManifestPath: "m.yaml", APIHost: "http://127.0.0.1:3233", AuthKey: "u:k", Namespace: "guest",
				Params: map[string]string{"couchdb_url": "http://db", "interval": "5"}},
		},
		{
			name: "short and inline forms",
			args: []string{"--manifest=x.yaml", "--apihost=http://h", "-u", "u:k", "-n=ns"},
			want: deploy.Options{ManifestPath: "x.yaml", APIHost: "http://h", AuthKey: "u:k", Namespace: "ns"},
		},
		{name: "param needs two values", args: []string{"--param", "k"}, wantErr: "--param needs a name and a value"},
		{name: "param inline", args: []string{"--param=k", "v"}, wantErr: "two values"},
		{name: "missing value", args: []string{"--apihost"}, wantErr: "needs a value"},
		{name: "unknown flag", args: []string{"--strict"}, wantErr: "unknown flag --strict"},
		{name: "positional", args: []string{"manifest.yaml"}, wantErr: "unexpected argument"},
		{name: "deployment file", args: []string{"-d", "deployment.yaml"}, wantErr: "not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deploy.ParseArgs(tc.args)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func ExampleParseArgs() {
	opts, err := deploy.ParseArgs([]string{"-m", "manifest.yaml", "--apihost", "http://127.0.0.1:3233",
		"--auth", "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:secret", "--param", "couchdb_url", "http://127.0.0.1:5984"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// A main then sets opts.Out = os.Stdout and opts.Env = os.Getenv and
	// calls deploy.Deploy(ctx, opts) or deploy.Undeploy(ctx, opts).
	fmt.Println(opts.ManifestPath, opts.APIHost, opts.Params["couchdb_url"])
	// Output: manifest.yaml http://127.0.0.1:3233 http://127.0.0.1:5984
}
