package runner

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// maxUnpacked bounds the total size of the files extracted from one action.
const maxUnpacked = 1 << 30

// codeError is a problem with the action's code: the activation fails with a
// developer error carrying the message.
type codeError struct{ msg string }

func (e *codeError) Error() string { return e.msg }

func codeErrorf(format string, args ...any) error {
	return &codeError{msg: fmt.Sprintf(format, args...)}
}

// unpacked is an action version ready to start.
type unpacked struct {
	dir     string // holds exec (and exec.env when the zip had it)
	execEnv string // trimmed content of exec.env, or derived from the kind
}

// unpack extracts code into dir (which must not exist) and validates it.
// Errors of type *codeError are the developer's; others are the platform's.
func unpack(code []byte, dir, kind string) (unpacked, error) {
	if len(code) == 0 {
		return unpacked{}, codeErrorf("Missing main/no code to execute.")
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return unpacked{}, fmt.Errorf("create action directory: %w", err)
	}
	var err error
	switch {
	case bytes.HasPrefix(code, []byte("PK\x03\x04")) || bytes.HasPrefix(code, []byte("PK\x05\x06")):
		err = extractZip(code, dir)
	case bytes.HasPrefix(code, []byte{0x1f, 0x8b}):
		err = extractTarGz(code, dir)
	case isExecutable(code):
		err = os.WriteFile(filepath.Join(dir, "exec"), code, 0o755)
	default:
		err = codeErrorf("Cannot start action: the action code is neither a zip, a tar.gz nor a native executable; " +
			"localwhisk runs precompiled actions: zip an executable named exec (and exec.env) at the top level")
	}
	if err != nil {
		return unpacked{}, err
	}
	if err := checkExec(filepath.Join(dir, "exec")); err != nil {
		return unpacked{}, err
	}
	env, err := checkExecEnv(filepath.Join(dir, "exec.env"), kind)
	if err != nil {
		return unpacked{}, err
	}
	return unpacked{dir: dir, execEnv: env}, nil
}

func isExecutable(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\x7fELF")) || bytes.HasPrefix(b, []byte("#!")) ||
		bytes.HasPrefix(b, []byte{0xcf, 0xfa, 0xed, 0xfe}) // Mach-O 64-bit, little endian
}

// place validates an archive member name and returns where it goes; skip
// is true for the archive root itself.
func place(dir, name string) (dst string, skip bool, err error) {
	n := strings.TrimPrefix(name, "./")
	if n == "" || n == "." || n == "/" {
		return "", true, nil
	}
	if strings.Contains(name, `\`) || !filepath.IsLocal(filepath.FromSlash(n)) {
		return "", false, codeErrorf("Cannot start action: the archive member %q points outside the action directory", name)
	}
	return filepath.Join(dir, filepath.FromSlash(path.Clean(n))), false, nil
}

func fileMode(name string, m fs.FileMode) fs.FileMode {
	if path.Clean(name) == "exec" {
		return 0o755
	}
	return (m.Perm() | 0o600) & 0o755
}

func extractZip(code []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(code), int64(len(code)))
	if err != nil {
		return codeErrorf("Cannot start action: the action code is not a valid zip: %v", err)
	}
	var execAt []string
	budget := int64(maxUnpacked)
	for _, f := range zr.File {
		if path.Base(f.Name) == "exec" && path.Clean(f.Name) != "exec" {
			execAt = append(execAt, f.Name)
		}
		dst, skip, err := place(dir, f.Name)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return unpackError(f.Name, err)
			}
		case mode.Type() == fs.ModeSymlink:
			return codeErrorf("Cannot start action: the zip holds a symbolic link %q; links are not supported", f.Name)
		case mode.IsRegular():
			rc, err := f.Open()
			if err != nil {
				return codeErrorf("Cannot start action: cannot read %q from the zip: %v", f.Name, err)
			}
			n, err := writeFile(dst, rc, fileMode(f.Name, mode), budget)
			rc.Close()
			if err != nil {
				return unpackError(f.Name, err)
			}
			budget -= n
		}
	}
	return missingExec(dir, execAt, "zip")
}

func extractTarGz(code []byte, dir string) error {
	gz, err := gzip.NewReader(bytes.NewReader(code))
	if err != nil {
		return codeErrorf("Cannot start action: the action code is not a valid tar.gz: %v", err)
	}
	tr := tar.NewReader(gz)
	var execAt []string
	budget := int64(maxUnpacked)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return codeErrorf("Cannot start action: the action code is not a valid tar.gz: %v", err)
		}
		if path.Base(h.Name) == "exec" && path.Clean(h.Name) != "exec" {
			execAt = append(execAt, h.Name)
		}
		dst, skip, err := place(dir, h.Name)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return unpackError(h.Name, err)
			}
		case tar.TypeSymlink, tar.TypeLink:
			return codeErrorf("Cannot start action: the archive holds a link %q; links are not supported", h.Name)
		case tar.TypeReg:
			n, err := writeFile(dst, tr, fileMode(h.Name, h.FileInfo().Mode()), budget)
			if err != nil {
				return unpackError(h.Name, err)
			}
			budget -= n
		}
	}
	return missingExec(dir, execAt, "tar.gz")
}

var errTooBig = &codeError{msg: fmt.Sprintf("Cannot start action: the unpacked action is larger than %d bytes", maxUnpacked)}

// unpackError reports a failure while extracting member name. The target
// directory is fresh, so what fails there comes from the archive's content.
func unpackError(name string, err error) error {
	if ce := (*codeError)(nil); errors.As(err, &ce) {
		return ce
	}
	return codeErrorf("Cannot start action: cannot unpack %q: %v", name, err)
}

func writeFile(dst string, r io.Reader, mode fs.FileMode, budget int64) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, io.LimitReader(r, budget+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > budget {
		err = errTooBig
	}
	return n, err
}

func missingExec(dir string, execAt []string, format string) error {
	if _, err := os.Lstat(filepath.Join(dir, "exec")); err == nil {
		return nil
	}
	if len(execAt) > 0 {
		return codeErrorf("Cannot start action: the %s has no file named exec at its top level (found %q); "+
			"archive the folder's contents, not the folder itself", format, execAt[0])
	}
	return codeErrorf("Cannot start action: the %s has no file named exec at its top level; "+
		"localwhisk runs precompiled actions: build the action as an executable named exec and put it at the top level", format)
}

// elfMachines maps GOARCH to the ELF machine this host can run.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM,
	"riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390,
}

func checkExec(name string) error {
	fi, err := os.Lstat(name)
	if err != nil {
		return fmt.Errorf("inspect exec: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return codeErrorf("Cannot start action: exec must be a regular file")
	}
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("inspect exec: %w", err)
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("#!")):
		return nil
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		if runtime.GOOS != "linux" {
			return codeErrorf("Cannot start action: exec is a Linux executable; this machine runs %s", runtime.GOOS)
		}
		ef, err := elf.NewFile(f)
		if err != nil {
			return codeErrorf("Cannot start action: exec is not a valid ELF executable: %v", err)
		}
		if want, ok := elfMachines[runtime.GOARCH]; ok && ef.Machine != want {
			return codeErrorf("Cannot start action: exec is built for %v but this machine runs %s "+
				"(build it with GOOS=linux GOARCH=%s)", ef.Machine, runtime.GOARCH, runtime.GOARCH)
		}
		return nil
	case runtime.GOOS == "darwin" && bytes.Equal(head, []byte{0xcf, 0xfa, 0xed, 0xfe}):
		return nil
	}
	return codeErrorf("Cannot start action: exec is neither a native executable nor a #! script; " +
		"localwhisk does not compile sources: build exec with CGO_ENABLED=0 go build -o exec")
}

var goKind = regexp.MustCompile(`^go:(1\.[0-9]+)$`)

// checkExecEnv validates exec.env when present and returns the execution
// environment to announce to the action (empty when unknown).
func checkExecEnv(name, kind string) (string, error) {
	want := ""
	if m := goKind.FindStringSubmatch(kind); m != nil {
		want = "openwhisk/action-golang-v" + m[1]
	}
	fi, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return want, nil
	}
	if err != nil {
		return "", fmt.Errorf("inspect exec.env: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > 4096 {
		return "", codeErrorf("Cannot start action: exec.env must be a small text file naming the runtime, e.g. openwhisk/action-golang-v1.22")
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("read exec.env: %w", err)
	}
	got := strings.TrimSpace(string(b))
	if got == "" || strings.ContainsAny(got, "\r\n") {
		return "", codeErrorf("Cannot start action: exec.env must hold one line naming the runtime, e.g. openwhisk/action-golang-v1.22")
	}
	if want != "" && got != want {
		return "", codeErrorf("Cannot start action: exec.env says %q but the action kind %s runs %q", got, kind, want)
	}
	return got, nil
}
