// Command pack builds each action main package into a static linux/amd64
// binary named exec and writes <out>/<name>.zip holding exec and exec.env, the
// precompiled form that the official OpenWhisk Go runtime images (and
// localwhisk) run as is.
//
// Usage:
//
//	go run ./tools/pack [-o dist] [-exec-env openwhisk/action-golang-v1.24] [packages]
//
// Packages are go list patterns (default ./actions/...); the zip is named after
// the last element of each package's directory. Zips are deterministic: the
// same sources and toolchain give the same bytes.
package main
