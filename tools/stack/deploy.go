package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/deploy"
)

// deploySteps returns the steps `up` runs after the stack is running and
// stack.env is written: pack the actions, then deploy manifest.yaml into
// localwhisk as whisk.system, with stack.env as the manifest's environment.
func deploySteps(u *upRun) []step {
	return []step{
		{name: "pack actions into dist/", run: u.packActions},
		{name: "deploy manifest.yaml as whisk.system", run: u.deployManifest},
	}
}

func (u *upRun) packActions(ctx context.Context, w io.Writer) error {
	if u.cfg.noWhisk {
		return skip("-no-whisk")
	}
	cmd := exec.CommandContext(ctx, "go", "run", "./tools/pack", "-o", "dist", "./actions/...")
	cmd.Dir = u.cfg.root
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go run ./tools/pack: %w", err)
	}
	return nil
}

func (u *upRun) deployManifest(ctx context.Context, w io.Writer) error {
	if u.cfg.noWhisk {
		return skip("-no-whisk")
	}
	return deploy.Deploy(ctx, deploy.Options{
		ManifestPath: filepath.Join(u.cfg.root, "manifest.yaml"),
		APIHost:      u.whiskURL(),
		AuthKey:      systemAuth,
		Out:          w,
		Env: func(k string) string {
			if v, ok := u.env[k]; ok {
				return v
			}
			return os.Getenv(k)
		},
	})
}
