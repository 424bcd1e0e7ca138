// Command action is the test action of package server's tests. It speaks the
// actionloop protocol by hand: it acknowledges on fd 3, then answers each
// JSON line read from stdin with one JSON line on fd 3. The "op" argument
// selects the behaviour.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	out := os.NewFile(3, "result")
	fmt.Fprintln(out, `{"ok":true}`)
	in := bufio.NewReaderSize(os.Stdin, 4<<20)
	for {
		line, err := in.ReadBytes('\n')
		if err != nil {
			return
		}
		var msg map[string]any
		if err := json.Unmarshal(line, &msg); err != nil {
			fmt.Fprintf(out, "{\"error\":%q}\n", err.Error())
			continue
		}
		// like the standard launcher: string fields become __OW_ variables
		os.Unsetenv("__OW_API_KEY")
		for k, v := range msg {
			if s, ok := v.(string); ok && k != "value" {
				os.Setenv("__OW_"+strings.ToUpper(k), s)
			}
		}
		value, _ := msg["value"].(map[string]any)
		res, err := json.Marshal(handle(value))
		if err != nil {
			res = []byte(`{"error":"cannot marshal result"}`)
		}
		fmt.Fprintf(out, "%s\n", res)
	}
}

func handle(v map[string]any) any {
	op, _ := v["op"].(string)
	switch op {
	case "error":
		return map[string]any{"error": v["message"]}
	case "array":
		return []any{1, 2, 3}
	case "sleep":
		ms, _ := v["ms"].(float64)
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return map[string]any{"slept": ms}
	case "crash":
		fmt.Fprintln(os.Stderr, "crashing on purpose")
		os.Exit(3)
	case "log":
		fmt.Println("hello stdout")
		fmt.Fprintln(os.Stderr, "hello stderr")
		return map[string]any{"logged": true}
	case "web":
		return v["response"]
	case "big":
		n, _ := v["n"].(float64)
		return map[string]any{"data": strings.Repeat("x", int(n))}
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, val, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "__OW_") || k == "INITVAR" {
			env[k] = val
		}
	}
	return map[string]any{"params": v, "env": env}
}
