// Command action is a test action for package runner. It speaks the
// actionloop protocol by hand: ack on fd 3, one JSON line in on stdin, one
// line out on fd 3. The "op" field of the activation value selects what it
// does; the START environment variable (an init parameter) changes how it
// starts.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sleep" { // helper child for the "spawn" op
		time.Sleep(time.Hour)
		return
	}
	out := os.NewFile(3, "result")
	switch os.Getenv("START") {
	case "exit":
		fmt.Println("starting and giving up")
		fmt.Fprintln(os.Stderr, "fatal: no configuration")
		os.Exit(2)
	case "badack":
		fmt.Fprintln(out, `{"ok":false}`)
	case "hang":
		time.Sleep(time.Hour)
	default:
		fmt.Println("init output")
		fmt.Fprintln(out, `{ "ok": true}`)
	}

	count := 0
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	for {
		line, err := in.ReadBytes('\n')
		if err != nil {
			return
		}
		count++
		var msg map[string]any
		if err := json.Unmarshal(line, &msg); err != nil {
			fmt.Fprintf(out, "{\"error\":%q}\n", err.Error())
			continue
		}
		for k, v := range msg {
			if s, ok := v.(string); ok && k != "value" {
				os.Setenv("__OW_"+strings.ToUpper(k), s)
			}
		}
		value, _ := msg["value"].(map[string]any)
		res := handle(value, msg, line, count)
		if res == nil {
			continue
		}
		fmt.Fprintf(out, "%s\n", res)
	}
}

func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// handle returns the raw result line, or nil when it already answered.
func handle(value, msg map[string]any, raw []byte, count int) []byte {
	pause := func() {
		if ms, ok := value["sleep_ms"].(float64); ok {
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
	}
	j := func(v any) []byte {
		b, _ := json.Marshal(v)
		return b
	}
	switch value["op"] {
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		keys := []string{}
		for k := range msg {
			keys = append(keys, k)
		}
		return j(map[string]any{"env": env, "keys": keys, "msg": msg, "raw_len": len(raw), "count": count})
	case "log":
		for i, s := range strs(value["stdout"]) {
			fmt.Println(s)
			if i == 0 {
				pause()
			}
		}
		for _, s := range strs(value["stderr"]) {
			fmt.Fprintln(os.Stderr, s)
		}
		if p, ok := value["partial"].(string); ok {
			fmt.Print(p) // no newline
		}
		return j(map[string]any{"done": true, "count": count})
	case "error":
		return []byte(`{"error":{"code":42,"reason":"boom"},"extra":1}`)
	case "string":
		return []byte(`"hello"`)
	case "array":
		return []byte(`[1,2,3]`)
	case "garbage":
		return []byte(`not json`)
	case "exit":
		fmt.Println("about to crash")
		os.Exit(3)
	case "sleep":
		fmt.Println("sleeping")
		pause()
		return j(map[string]any{"slept": true, "pid": os.Getpid()})
	case "big":
		n, _ := value["n"].(float64)
		return j(map[string]any{"data": strings.Repeat("x", int(n))})
	case "pid":
		pause()
		return j(map[string]any{"pid": os.Getpid(), "count": count})
	case "spawn":
		self, _ := os.Executable()
		c := exec.Command(self, "sleep")
		if err := c.Start(); err != nil {
			return j(map[string]any{"error": err.Error()})
		}
		return j(map[string]any{"pid": os.Getpid(), "child": c.Process.Pid})
	case "twice":
		out := os.NewFile(3, "result")
		fmt.Fprintln(out, `{"first":true}`)
		return []byte(`{"second":true}`)
	}
	return j(map[string]any{"echo": value, "count": count})
}
