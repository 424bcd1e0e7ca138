package s3feed

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestManifestTailAndAdvanceTo(t *testing.T) {
	ref := func(first, last string) ChunkRef {
		return ChunkRef{Hash: first + last, First: first, Last: last, Count: 1}
	}
	after := func(r ChunkRef, k string) ChunkRef { r.After = k; return r }
	old := Manifest{Chunks: []ChunkRef{ref("a", "c"), ref("d", "f"), ref("g", "i")}}
	tests := []struct {
		name    string
		written []ChunkRef
		through string
		want    []ChunkRef
	}{
		{name: "nothing merged", want: old.Chunks},
		{name: "deletions only", through: "e", want: []ChunkRef{after(ref("d", "f"), "e"), ref("g", "i")}},
		{name: "written short of the merge point", written: []ChunkRef{ref("a", "b")}, through: "f",
			want: []ChunkRef{ref("a", "b"), ref("g", "i")}},
		{name: "past the end", written: []ChunkRef{ref("a", "z")}, through: "z", want: []ChunkRef{ref("a", "z")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, old.AdvanceTo(tc.written, tc.through).Chunks)
		})
	}
	assert.Equal(t, old, old.Tail(""), "Tail of nothing is everything")
	assert.Equal(t, []ChunkRef{after(ref("g", "i"), "h")}, old.Tail("h").Chunks)
	assert.Equal(t, ref("a", "c"), old.Chunks[0], "the manifest is not modified")
}
