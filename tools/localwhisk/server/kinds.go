package server

import (
	"encoding/json"
	"fmt"
	"strings"
)

// runtime is one kind of the runtimes manifest.
type runtime struct {
	Kind       string `json:"kind"`
	Image      string `json:"image"`
	Deprecated bool   `json:"deprecated"`
	Default    bool   `json:"default"`
	Attached   bool   `json:"attached"`
	Main       bool   `json:"requireMain"`
}

// goRuntimes are the kinds localwhisk runs natively.
var goRuntimes = []runtime{
	{Kind: "go:1.22", Image: "openwhisk/action-golang-v1.22:nightly"},
	{Kind: "go:1.23", Image: "openwhisk/action-golang-v1.23:nightly"},
	{Kind: "go:1.24", Image: "openwhisk/action-golang-v1.24:nightly", Default: true},
}

const defaultGoKind = "go:1.24"

// resolveKind maps "go:default" to the default Go kind and checks the rest.
func resolveKind(kind string) (string, bool) {
	if kind == "go:default" {
		return defaultGoKind, true
	}
	for _, r := range goRuntimes {
		if r.Kind == kind {
			return kind, true
		}
	}
	return "", false
}

func invalidRuntime(kind string) error {
	names := make([]string, len(goRuntimes))
	for i, r := range goRuntimes {
		names[i] = "'" + r.Kind + "'"
	}
	return malformed("The specified runtime '%s' is not supported by this platform. Valid values are: %s.", kind, strings.Join(names, ", "))
}

// isBinaryCode is the controller's test: trimmed code that is padded base64
// (a multiple of four characters from the standard alphabet, with at most
// two '=' at the end).
func isBinaryCode(code string) bool {
	t := strings.TrimSpace(code)
	if len(t) == 0 || len(t)%4 != 0 {
		return false
	}
	pad := 0
	if strings.HasSuffix(t, "==") {
		pad = 2
	} else if strings.HasSuffix(t, "=") {
		pad = 1
	}
	for i := 0; i < len(t)-pad; i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// parseExec validates an exec object of a PUT body.
func parseExec(raw json.RawMessage) (Exec, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Exec{}, malformed("'exec' must be an object")
	}
	var kind string
	if err := json.Unmarshal(fields["kind"], &kind); err != nil || fields["kind"] == nil {
		return Exec{}, malformed("'kind' must be a string defined in 'exec'")
	}
	kind = strings.ToLower(strings.TrimSpace(kind))
	switch kind {
	case "sequence":
		return Exec{}, malformed("%s", msgSequenceUnsupported)
	case "blackbox":
		return Exec{}, malformed("%s", msgBlackboxUnsupported)
	}
	resolved, ok := resolveKind(kind)
	if !ok {
		return Exec{}, invalidRuntime(kind)
	}
	var main string
	if m, ok := fields["main"]; ok && string(m) != "null" {
		if err := json.Unmarshal(m, &main); err != nil {
			return Exec{}, malformed("if defined, 'main' be a string in 'exec' for '%s' actions", kind)
		}
	}
	var code string
	if err := json.Unmarshal(fields["code"], &code); err != nil || fields["code"] == nil {
		return Exec{}, malformed("'code' must be a string defined in 'exec' for '%s' actions", kind)
	}
	return Exec{Kind: resolved, Code: code, Binary: isBinaryCode(code), Main: main}, nil
}

// execSize is what the exec size limit measures.
func (e Exec) size() int { return len(e.Code) + len(e.Main) }

func (e Exec) String() string { return fmt.Sprintf("%s (%d bytes)", e.Kind, len(e.Code)) }
