package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func packHello(t *testing.T) (zipPath, progress string) {
	t.Helper()
	var out bytes.Buffer
	cfg := config{outDir: t.TempDir(), execEnv: defaultExecEnv, goCmd: "go", patterns: []string{"../../actions/hello"}, stdout: &out}
	require.NoError(t, run(t.Context(), cfg))
	return filepath.Join(cfg.outDir, "hello.zip"), out.String()
}

func readEntry(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

func TestPackHello(t *testing.T) {
	zipPath, progress := packHello(t)
	assert.Regexp(t, `^packed hello: .*hello\.zip \(exec [0-9.]+ MB, zip [0-9.]+ MB\) in [0-9.]+m?s\n$`, progress)

	zr, err := zip.OpenReader(zipPath)
	require.NoError(t, err)
	defer zr.Close()
	require.Len(t, zr.File, 2)
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
		assert.True(t, zipTime.Equal(f.Modified), "fixed timestamp on %s", f.Name)
	}
	require.Contains(t, files, "exec")
	require.Contains(t, files, "exec.env")

	assert.Equal(t, os.FileMode(0o755), files["exec"].Mode())
	assert.Equal(t, "openwhisk/action-golang-v1.24", string(readEntry(t, files["exec.env"])))

	exe := readEntry(t, files["exec"])
	ef, err := elf.NewFile(bytes.NewReader(exe))
	require.NoError(t, err, "exec is an ELF binary")
	assert.Equal(t, elf.ELFCLASS64, ef.Class)
	assert.Equal(t, elf.EM_X86_64, ef.Machine)
	for _, p := range ef.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "static binary has no interpreter")
		assert.NotEqual(t, elf.PT_DYNAMIC, p.Type, "static binary has no dynamic section")
	}
	assert.Nil(t, ef.Section(".symtab"), "stripped (-s)")

	t.Run("reproducible", func(t *testing.T) {
		again, _ := packHello(t)
		a, err := os.ReadFile(zipPath)
		require.NoError(t, err)
		b, err := os.ReadFile(again)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(a, b), "same sources give the same zip bytes")
	})

	t.Run("exec answers the actionloop protocol", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "exec")
		require.NoError(t, os.WriteFile(path, exe, 0o755))
		r3, w3, err := os.Pipe()
		require.NoError(t, err)
		defer r3.Close()
		cmd := exec.Command(path)
		cmd.Env = []string{"__OW_API_HOST=http://127.0.0.1:1"}
		cmd.ExtraFiles = []*os.File{w3}
		cmd.Stdin = strings.NewReader(`{"value":{"name":"ana"},"activation_id":"a1"}` + "\n" + `{"value":{},"activation_id":"a2"}` + "\n")
		require.NoError(t, cmd.Start())
		require.NoError(t, w3.Close())
		var lines []string
		sc := bufio.NewScanner(r3)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		require.NoError(t, cmd.Wait())
		assert.Equal(t, []string{`{"ok":true}`, `{"greeting":"Hello, ana!"}`, `{"greeting":"Hello, stranger!"}`}, lines)
	})
}

func TestPackErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  config
		want string
	}{
		{"no main package", config{execEnv: defaultExecEnv, patterns: []string{"../../pkg/runtime"}}, "no main package"},
		{"unknown package", config{execEnv: defaultExecEnv, patterns: []string{"./does-not-exist"}}, "list packages ./does-not-exist"},
		{"empty exec env", config{execEnv: "", patterns: []string{"../../actions/hello"}}, "flag -exec-env"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.goCmd, tc.cfg.outDir, tc.cfg.stdout = "go", t.TempDir(), io.Discard
			err := run(t.Context(), tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			entries, _ := os.ReadDir(tc.cfg.outDir)
			assert.Empty(t, entries, "nothing written")
		})
	}
}
