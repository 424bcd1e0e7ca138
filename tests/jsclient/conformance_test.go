// Package jsclient_test drives localwhisk with the official OpenWhisk
// JavaScript client (npm openwhisk, pinned in package-lock.json) and checks
// that the answers match what the real controller does.
package jsclient_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// The guest identity that localwhisk knows by default (upstream's dev key).
const guestKey = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"

func TestJSClientConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts localwhisk and runs the JavaScript client; skipped in -short mode")
	}
	node, err := exec.LookPath("node")
	require.NoError(t, err, "node (Node.js 20+) is required for the JavaScript client conformance test")

	ctx := t.Context()
	here, err := filepath.Abs(".")
	require.NoError(t, err)
	root := filepath.Join(here, "..", "..")

	require.NoError(t, service.InstallNodeDeps(ctx, here, service.WithProgress(t.Output())),
		"install the openwhisk npm package")

	bin := t.TempDir()
	goCmd(t, root, "build", "-o", filepath.Join(bin, "localwhisk"), "./tools/localwhisk")
	goCmd(t, root, "run", "./tools/pack", "-o", bin, "./actions/hello")
	zip := filepath.Join(bin, "hello.zip")
	require.FileExists(t, zip)

	port, err := service.FreePort()
	require.NoError(t, err)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	proc, err := service.StartProcess(ctx, service.ProcessOptions{
		Name:     "localwhisk",
		Path:     filepath.Join(bin, "localwhisk"),
		Args:     []string{"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-work", t.TempDir()},
		Port:     port,
		URL:      url,
		ReadyURL: url + "/api/v1",
		LogFile:  filepath.Join(bin, "localwhisk.log"),
	})
	require.NoError(t, err, "start localwhisk")
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		assert.NoError(t, proc.Stop(stopCtx), "stop localwhisk")
		if t.Failed() {
			if b, err := os.ReadFile(proc.LogFile); err == nil {
				t.Logf("localwhisk log:\n%s", b)
			}
		}
	})

	runCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, node, "conformance.js")
	cmd.Dir = here
	cmd.Env = append(os.Environ(),
		"__OW_API_HOST="+url,
		"__OW_API_KEY="+guestKey,
		"HELLO_ZIP="+zip,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("conformance.js failed (%v); output:\n%s", err, out)
	}
	t.Logf("conformance.js output:\n%s", out)
}

func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %v:\n%s", args, out)
}
