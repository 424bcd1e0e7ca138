package feed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidKey is wrapped by the error of [NewKeyring] when the provider's
// encryption_key is missing or malformed.
var ErrInvalidKey = errors.New("invalid encryption key")

// ErrDecrypt is wrapped by the error of [Keyring.Open] when a sealed value
// fails authentication: it was altered, or moved to another record.
var ErrDecrypt = errors.New("secrets failed authentication")

// UnknownKeyError is returned by [Keyring.Open] when the value was sealed
// with a key that is not in the keyring, usually after a key rotation that
// dropped the old key too early.
type UnknownKeyError struct {
	KeyID string // id of the key the value was sealed with
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("open secrets: sealed with unknown key id %q: keep the old key after the new one in encryption_key until every record was rewritten", e.KeyID)
}

// keySize is the size of an AES-256 key.
const keySize = 32

// Sealed is a set of secrets encrypted with AES-256-GCM. Nonce and Data are
// encoded in JSON as base64.
type Sealed struct {
	KeyID string `json:"key_id"`
	Nonce []byte `json:"nonce"`
	Data  []byte `json:"data"`
}

// IsZero reports whether s holds nothing.
func (s Sealed) IsZero() bool { return s.KeyID == "" && len(s.Nonce) == 0 && len(s.Data) == 0 }

type sealKey struct {
	id   string
	aead cipher.AEAD
}

// Keyring seals secrets with the provider's current key and opens them with
// any key it knows. It is safe for concurrent use.
type Keyring struct {
	keys []sealKey // keys[0] seals
}

// NewKeyring builds a keyring from the provider parameter encryption_key: a
// comma-separated list of 32-byte keys, each written as 64 hex characters or
// as base64. The first key seals; all keys open, chosen by key id, so a key
// is rotated by putting the new key first and keeping the old one after it.
func NewKeyring(spec string) (*Keyring, error) {
	parts := strings.Split(spec, ",")
	kr := &Keyring{}
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			if len(parts) == 1 {
				return nil, fmt.Errorf("parameter encryption_key is required: expected a 32-byte key as 64 hex characters or base64: %w", ErrInvalidKey)
			}
			return nil, fmt.Errorf("parameter encryption_key: key %d of %d is empty: %w", i+1, len(parts), ErrInvalidKey)
		}
		raw, ok := decodeKey(p)
		if !ok {
			// Never echo the value: it may be a real secret with a typo.
			return nil, fmt.Errorf("parameter encryption_key: key %d of %d (%d characters) is not 32 bytes written as 64 hex characters or base64; passphrases are not accepted, generate a key with `openssl rand -hex 32`: %w",
				i+1, len(parts), len(p), ErrInvalidKey)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("parameter encryption_key: key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("parameter encryption_key: key %d: %w", i+1, err)
		}
		sum := sha256.Sum256(raw)
		kr.keys = append(kr.keys, sealKey{id: hex.EncodeToString(sum[:8]), aead: aead})
		clear(raw)
	}
	return kr, nil
}

// decodeKey reads a 32-byte key written as hex or as any base64 alphabet.
func decodeKey(s string) ([]byte, bool) {
	if len(s) == 2*keySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == keySize {
			return b, true
		}
	}
	return nil, false
}

// KeyID returns the id of the key that seals: the first 8 bytes of its
// SHA-256, in hex.
func (k *Keyring) KeyID() string { return k.keys[0].id }

// NeedsReseal reports whether s was sealed with another key than the one
// that seals now, so that a rotation can rewrite it.
func (k *Keyring) NeedsReseal(s Sealed) bool { return !s.IsZero() && s.KeyID != k.KeyID() }

// Seal encrypts secrets with the current key. The record id is bound as
// additional authenticated data: the result opens only for the same id.
func (k *Keyring) Seal(recordID string, secrets map[string]string) (Sealed, error) {
	plain, err := json.Marshal(secrets)
	if err != nil {
		return Sealed{}, fmt.Errorf("seal secrets of %s: %w", recordID, err)
	}
	defer clear(plain)
	key := k.keys[0]
	nonce := make([]byte, key.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fmt.Errorf("seal secrets of %s: %w", recordID, err)
	}
	return Sealed{
		KeyID: key.id,
		Nonce: nonce,
		Data:  key.aead.Seal(nil, nonce, plain, []byte(recordID)),
	}, nil
}

// Open decrypts s, which must have been sealed for recordID. It returns an
// *[UnknownKeyError] when no key of the keyring has s's key id, and an error
// wrapping [ErrDecrypt] when s was altered or belongs to another record. An
// empty s gives an empty map.
func (k *Keyring) Open(recordID string, s Sealed) (map[string]string, error) {
	if s.IsZero() {
		return map[string]string{}, nil
	}
	for _, key := range k.keys {
		if key.id != s.KeyID {
			continue
		}
		if len(s.Nonce) != key.aead.NonceSize() {
			return nil, fmt.Errorf("open secrets of %s: nonce of %d bytes: %w", recordID, len(s.Nonce), ErrDecrypt)
		}
		plain, err := key.aead.Open(nil, s.Nonce, s.Data, []byte(recordID))
		if err != nil {
			return nil, fmt.Errorf("open secrets of %s: %w", recordID, ErrDecrypt)
		}
		defer clear(plain)
		out := map[string]string{}
		if err := json.Unmarshal(plain, &out); err != nil {
			return nil, fmt.Errorf("open secrets of %s: %w", recordID, err)
		}
		return out, nil
	}
	return nil, &UnknownKeyError{KeyID: s.KeyID}
}
