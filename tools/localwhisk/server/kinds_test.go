package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsBinaryCode(t *testing.T) {
	for code, want := range map[string]bool{
		"UEsDBA==":       true,
		"UEsDBAo=":       true,
		"UEsDBAoK":       true,
		"  UEsDBAoK\n":   true,
		"UEsDBAo":        false, // not a multiple of 4
		"package main":   false,
		"UE=sDBAo":       false, // padding inside
		"UEsD===":        false,
		"":               false,
		"ab+/cd09AZaz==": false, // length 14
	} {
		assert.Equal(t, want, isBinaryCode(code), "%q", code)
	}
}
