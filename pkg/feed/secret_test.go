package feed_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
)

// Test keys: 32 bytes each.
var (
	keyA = bytes.Repeat([]byte{0xA1}, 32)
	keyB = bytes.Repeat([]byte{0xB2}, 32)
)

func mustKeyring(t *testing.T, spec string) *feed.Keyring {
	t.Helper()
	kr, err := feed.NewKeyring(spec)
	require.NoError(t, err)
	return kr
}

func keyID(k []byte) string {
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:8])
}

func TestNewKeyring(t *testing.T) {
	cases := []struct {
		name   string
		spec   string
		wantID string // id of the sealing key; "" when an error is expected
	}{
		{"hex", hex.EncodeToString(keyA), keyID(keyA)},
		{"upper-case hex", strings.ToUpper(hex.EncodeToString(keyA)), keyID(keyA)},
		{"base64", base64.StdEncoding.EncodeToString(keyA), keyID(keyA)},
		{"raw url base64", base64.RawURLEncoding.EncodeToString(keyB), keyID(keyB)},
		{"list, first seals", hex.EncodeToString(keyB) + " , " + hex.EncodeToString(keyA), keyID(keyB)},
		{"passphrase", "correct horse battery", ""},
		{"short hex", hex.EncodeToString(keyA[:16]), ""},
		{"empty", "", ""},
		{"empty entry", hex.EncodeToString(keyA) + ",", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := feed.NewKeyring(tc.spec)
			if tc.wantID == "" {
				require.ErrorIs(t, err, feed.ErrInvalidKey)
				assert.Contains(t, err.Error(), "encryption_key")
				if tc.spec != "" {
					assert.NotContains(t, err.Error(), tc.spec, "the key is never echoed")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantID, kr.KeyID())
		})
	}
}

func TestSealOpen(t *testing.T) {
	kr := mustKeyring(t, hex.EncodeToString(keyA))
	id := feed.RecordID("guest", "t")
	secrets := map[string]string{"authKey": "uuid:key", "s3_secret_access_key": "wJalrXUtnFEMI"}

	sealed, err := kr.Seal(id, secrets)
	require.NoError(t, err)
	assert.Equal(t, kr.KeyID(), sealed.KeyID)
	assert.Len(t, sealed.Nonce, 12)
	assert.NotContains(t, string(sealed.Data), "wJalrXUtnFEMI")

	again, err := kr.Seal(id, secrets)
	require.NoError(t, err)
	assert.NotEqual(t, sealed.Nonce, again.Nonce, "a fresh nonce per seal")

	got, err := kr.Open(id, sealed)
	require.NoError(t, err)
	assert.Equal(t, secrets, got)

	empty, err := kr.Open(id, feed.Sealed{})
	require.NoError(t, err)
	assert.Empty(t, empty)

	b, err := json.Marshal(sealed)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, base64.StdEncoding.EncodeToString(sealed.Data), m["data"])
	var back feed.Sealed
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, sealed, back)
}

func TestOpenRejectsTampering(t *testing.T) {
	kr := mustKeyring(t, hex.EncodeToString(keyA))
	id := feed.RecordID("guest", "t")
	sealed, err := kr.Seal(id, map[string]string{"authKey": "k"})
	require.NoError(t, err)

	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 1
		return c
	}
	cases := []struct {
		name   string
		id     string
		sealed feed.Sealed
	}{
		{"data bit", id, feed.Sealed{KeyID: sealed.KeyID, Nonce: sealed.Nonce, Data: flip(sealed.Data, 0)}},
		{"tag bit", id, feed.Sealed{KeyID: sealed.KeyID, Nonce: sealed.Nonce, Data: flip(sealed.Data, len(sealed.Data)-1)}},
		{"nonce bit", id, feed.Sealed{KeyID: sealed.KeyID, Nonce: flip(sealed.Nonce, 3), Data: sealed.Data}},
		{"short nonce", id, feed.Sealed{KeyID: sealed.KeyID, Nonce: sealed.Nonce[:4], Data: sealed.Data}},
		{"moved to another record", feed.RecordID("guest", "other"), sealed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kr.Open(tc.id, tc.sealed)
			require.ErrorIs(t, err, feed.ErrDecrypt)
		})
	}
}

func TestKeyRotation(t *testing.T) {
	id := feed.RecordID("guest", "t")
	oldRing := mustKeyring(t, hex.EncodeToString(keyA))
	sealedOld, err := oldRing.Seal(id, map[string]string{"authKey": "old"})
	require.NoError(t, err)

	rotated := mustKeyring(t, hex.EncodeToString(keyB)+","+hex.EncodeToString(keyA))
	got, err := rotated.Open(id, sealedOld)
	require.NoError(t, err, "the old key still opens")
	assert.Equal(t, "old", got["authKey"])
	assert.True(t, rotated.NeedsReseal(sealedOld))

	sealedNew, err := rotated.Seal(id, got)
	require.NoError(t, err)
	assert.Equal(t, keyID(keyB), sealedNew.KeyID, "the new key seals")
	assert.False(t, rotated.NeedsReseal(sealedNew))

	// Dropping the old key too early is reported with a typed error.
	newOnly := mustKeyring(t, hex.EncodeToString(keyB))
	_, err = newOnly.Open(id, sealedOld)
	var unknown *feed.UnknownKeyError
	require.ErrorAs(t, err, &unknown)
	assert.Equal(t, keyID(keyA), unknown.KeyID)
	_, err = oldRing.Open(id, sealedNew)
	require.ErrorAs(t, err, &unknown)
}

func TestStoredSecretsAreUnreadable(t *testing.T) {
	t.Parallel()
	s, dbURL := newStore(t)
	kr := mustKeyring(t, base64.StdEncoding.EncodeToString(keyA))
	const authKey = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
	const s3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

	r := feed.NewRecord("s3-changes", "guest", "uploads")
	r.Config = json.RawMessage(`{"bucket":"b"}`)
	require.NoError(t, r.SealSecrets(kr, map[string]string{"authKey": authKey, "s3_secret_access_key": s3Secret}))
	require.NoError(t, s.Create(t.Context(), r))

	status, raw := rawGet(t, dbURL, r.ID)
	require.Equal(t, 200, status)
	doc := string(raw)
	for _, secret := range []string{authKey, s3Secret, "123zO3xZCLrMN6v2", "wJalrXUtnFEMI"} {
		assert.NotContains(t, doc, secret)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding} {
			assert.NotContains(t, doc, enc.EncodeToString([]byte(secret)))
		}
		assert.NotContains(t, doc, hex.EncodeToString([]byte(secret)))
	}
	assert.NotContains(t, r.ID, "23bc46b1", "the id never holds the authKey")
	assert.Contains(t, doc, `"key_id":"`+kr.KeyID()+`"`)

	got, err := s.Get(t.Context(), r.ID)
	require.NoError(t, err)
	secrets, err := got.OpenSecrets(kr)
	require.NoError(t, err)
	assert.Equal(t, authKey, secrets["authKey"])
	assert.Equal(t, s3Secret, secrets["s3_secret_access_key"])
}

func ExampleKeyring() {
	// The provider's encryption_key: the new key first, the old one after it.
	kr, err := feed.NewKeyring(strings.Repeat("b2", 32) + "," + strings.Repeat("a1", 32))
	if err != nil {
		fmt.Println(err)
		return
	}
	r := feed.NewRecord("s3-changes", "guest", "uploads")
	if err := r.SealSecrets(kr, map[string]string{"authKey": "uuid:key"}); err != nil {
		fmt.Println(err)
		return
	}
	secrets, err := r.OpenSecrets(kr)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(secrets["authKey"], r.Secrets.KeyID == kr.KeyID())
	// Output: uuid:key true
}
