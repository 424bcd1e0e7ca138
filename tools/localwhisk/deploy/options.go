package deploy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultManifest is the manifest path ParseArgs uses when -m is not given.
const DefaultManifest = "manifest.yaml"

// defaultRetryDelay is wskdeploy's pause before repeating a write that failed
// with 409 "Concurrent modification".
const defaultRetryDelay = time.Second

// writeAttempts is how many times wskdeploy sends a write in all.
const writeAttempts = 3

// Options configure one Deploy or Undeploy.
type Options struct {
	// ManifestPath is the manifest file; action functions are relative to
	// its directory.
	ManifestPath string
	// APIHost is the OpenWhisk API host, with scheme ("http://127.0.0.1:3233").
	APIHost string
	// AuthKey is "uuid:key". It is never printed.
	AuthKey string
	// Namespace is the namespace to deploy into; "" means the manifest's
	// project namespace, else "_" (the credentials' own).
	Namespace string
	// Params override inputs of the same name, everywhere in the manifest
	// (package, binding, action and trigger inputs), as wskdeploy's
	// --param does: the value is a string, $VAR-interpolated.
	Params map[string]string
	// Out receives one progress line per entity (nil: discarded).
	Out io.Writer
	// Env looks up environment variables for $VAR and ${VAR} (nil: every
	// variable is empty). Tool mains pass os.Getenv.
	Env func(string) string

	// HTTPClient sends every request (nil: a client without timeout; the
	// context bounds each call).
	HTTPClient *http.Client
	// RetryDelay is the pause before repeating a write answered with 409
	// "Concurrent modification" (0: 1 s, as wskdeploy).
	RetryDelay time.Duration
}

// Usage describes the arguments ParseArgs accepts.
const Usage = `-m manifest.yaml --apihost URL --auth UUID:KEY [--namespace NS] [--param NAME VALUE]...

  -m, --manifest PATH    wskdeploy manifest (default manifest.yaml)
  --apihost URL          OpenWhisk API host with scheme, e.g. http://127.0.0.1:3233
  -u, --auth UUID:KEY    credentials (never printed)
  -n, --namespace NS     namespace (default: the manifest's project namespace, else _)
  --param NAME VALUE     override every input named NAME (repeatable)`

// ParseArgs reads the arguments of `localwhisk deploy` and `localwhisk
// undeploy` (everything after the subcommand) in wskdeploy's spelling: see
// Usage. Flags may be written --flag value or --flag=value; --param takes
// two values. Out and Env are left for the caller to set.
func ParseArgs(args []string) (Options, error) {
	opts := Options{ManifestPath: DefaultManifest}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, inline, hasInline := strings.Cut(arg, "=")
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			return Options{}, fmt.Errorf("parse arguments: unexpected argument %q, expected flags: %s", arg, Usage)
		}
		next := func() (string, error) {
			if hasInline {
				return inline, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("parse arguments: flag %s needs a value", name)
			}
			i++
			return args[i], nil
		}
		var err error
		switch strings.TrimLeft(name, "-") {
		case "m", "manifest":
			opts.ManifestPath, err = next()
		case "apihost":
			opts.APIHost, err = next()
		case "u", "auth":
			opts.AuthKey, err = next()
		case "n", "namespace":
			opts.Namespace, err = next()
		case "param":
			var k, v string
			if hasInline {
				return Options{}, errors.New("parse arguments: --param takes two values: --param NAME VALUE")
			}
			if i+2 >= len(args) {
				return Options{}, errors.New("parse arguments: --param needs a name and a value: --param NAME VALUE")
			}
			k, v = args[i+1], args[i+2]
			i += 2
			if k == "" {
				return Options{}, errors.New("parse arguments: --param: name is empty")
			}
			if opts.Params == nil {
				opts.Params = map[string]string{}
			}
			opts.Params[k] = v
		case "d", "deployment":
			return Options{}, fmt.Errorf("parse arguments: %s: deployment files are not supported by localwhisk deploy; use --param overrides", name)
		default:
			return Options{}, fmt.Errorf("parse arguments: unknown flag %s, expected: %s", name, Usage)
		}
		if err != nil {
			return Options{}, err
		}
	}
	return opts, nil
}

// validate checks the options a run needs.
func (o Options) validate(op string) error {
	switch {
	case o.ManifestPath == "":
		return fmt.Errorf("%s: manifest path is empty, expected -m manifest.yaml", op)
	case o.APIHost == "":
		return fmt.Errorf("%s: apihost is empty, expected --apihost http://host:port", op)
	case o.AuthKey == "":
		return fmt.Errorf("%s: auth key is empty, expected --auth uuid:key", op)
	}
	return nil
}

func (o Options) env() func(string) string {
	if o.Env != nil {
		return o.Env
	}
	return func(string) string { return "" }
}

func (o Options) out() io.Writer {
	if o.Out != nil {
		return o.Out
	}
	return io.Discard
}

func (o Options) httpClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return &http.Client{}
}

func (o Options) retryDelay() time.Duration {
	if o.RetryDelay > 0 {
		return o.RetryDelay
	}
	return defaultRetryDelay
}
