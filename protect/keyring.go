// Package protect implements application-level encryption of personal data:
// the key ring, AES-GCM sealing for PostgreSQL columns, and the Temporal
// payload codec.
//
// Keys come from one setting, ENCRYPTION_KEYS: a comma-separated list of
// id:base64key pairs, each key 32 random bytes (AES-256). The first key is
// the current one and encrypts everything new; the others only decrypt.
// To rotate, put a new key in front and keep the old ones until every value
// sealed with them has been re-encrypted.
package protect

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// KeysVariable is the name of the setting that holds the key ring. It is
// used in error messages so that people know what to fix.
const KeysVariable = "ENCRYPTION_KEYS"

// KeySize is the length in bytes of every key (AES-256).
const KeySize = 32

// maxIDLen is the longest key id accepted.
const maxIDLen = 32

// ErrDecrypt is returned (possibly wrapped) by Open when a ciphertext does
// not authenticate: the key is wrong, the aad does not match, or the value
// was altered.
var ErrDecrypt = errors.New("cannot decrypt: wrong key or the value was altered")

// ErrUnknownKey is returned (wrapped, with the id) by Open when the key id
// a value was sealed with is not in the key ring.
var ErrUnknownKey = errors.New("unknown encryption key")

// Keyring holds the encryption keys. The zero value and a nil *Keyring hold
// no keys: Seal and Open return errors. A Keyring is immutable once built
// and safe for concurrent use.
//
// Printing a Keyring (fmt with any verb, slog, encoding/json and therefore
// zerolog) shows only the key ids, never key material.
type Keyring struct {
	ids   []string // in ENCRYPTION_KEYS order; ids[0] is the current key
	aeads map[string]cipher.AEAD
}

// ParseKeys parses an ENCRYPTION_KEYS value: a comma-separated list of
// id:base64key, the first being the current key. Keys may be in standard or
// URL-safe base64, padded or not, and must decode to exactly 32 bytes. Ids
// are 1–32 characters of A–Z, a–z, 0–9, _ and -, and must be unique.
// Whitespace around entries is ignored, as are empty entries.
//
// Error messages are meant for people and never contain key material.
func ParseKeys(spec string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	n := 0
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		n++
		id, b64, ok := strings.Cut(entry, ":")
		if !ok {
			// The entry may well be a bare key: do not echo it.
			return nil, fmt.Errorf("%s: entry %d has no key id; write each key as id:base64key, e.g. %s=k1:<key> (make a key with: openssl rand -base64 32)",
				KeysVariable, n, KeysVariable)
		}
		id = strings.TrimSpace(id)
		b64 = strings.TrimSpace(b64)
		if err := checkID(id); err != nil {
			return nil, fmt.Errorf("%s: entry %d: %w", KeysVariable, n, err)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("%s: key id %q appears more than once; each key needs its own id (to rotate, give the new key a new id and put it first)",
				KeysVariable, id)
		}
		if b64 == "" {
			return nil, fmt.Errorf("%s: key %q has no key after the colon; each key must be 32 random bytes in base64 (make one with: openssl rand -base64 32)",
				KeysVariable, id)
		}
		key, ok := decodeBase64(b64)
		if !ok {
			return nil, fmt.Errorf("%s: key %q is not valid base64; each key must be 32 random bytes in base64 (make one with: openssl rand -base64 32)",
				KeysVariable, id)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("%s: key %q is %d bytes; each key must be %d random bytes in base64 (make one with: openssl rand -base64 32)",
				KeysVariable, id, len(key), KeySize)
		}
		aead, err := newAEAD(key)
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("%s: key %q: %w", KeysVariable, id, err)
		}
		k.ids = append(k.ids, id)
		k.aeads[id] = aead
	}
	if len(k.ids) == 0 {
		return nil, fmt.Errorf("%s is empty; set it to a comma-separated list of id:base64key, current key first, e.g. %s=k1:<key> (make a key with: openssl rand -base64 32)",
			KeysVariable, KeysVariable)
	}
	return k, nil
}

// checkID validates a key id. The id is quoted in the error only when it is
// short enough that it cannot be a key pasted in the wrong place.
func checkID(id string) error {
	const rule = "ids are 1–32 characters of A–Z, a–z, 0–9, _ and -"
	switch {
	case id == "":
		return fmt.Errorf("key id is empty; write each key as id:base64key (%s)", rule)
	case len(id) > maxIDLen:
		return fmt.Errorf("key id is %d characters long; %s (is a key in the id's place? write each key as id:base64key)", len(id), rule)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			continue
		}
		return fmt.Errorf("key id %q is not valid; %s", id, rule)
	}
	return nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// newAEAD returns AES-256-GCM that prepends a random 12-byte nonce to the
// ciphertext on Seal and reads it back on Open.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// GenerateKey returns a new random 32-byte key in standard base64, for use
// in ENCRYPTION_KEYS (e.g. in development).
func GenerateKey() string {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // never fails: crypto/rand crashes the program instead
	s := base64.StdEncoding.EncodeToString(key)
	clear(key)
	return s
}

// CurrentID returns the id of the key that Seal uses ("" for an empty ring).
func (k *Keyring) CurrentID() string {
	if k == nil || len(k.ids) == 0 {
		return ""
	}
	return k.ids[0]
}

// IDs returns the key ids in ENCRYPTION_KEYS order, the current one first.
// The slice is a copy.
func (k *Keyring) IDs() []string {
	if k == nil {
		return nil
	}
	return append([]string(nil), k.ids...)
}

// Has reports whether the key ring holds the key with this id.
func (k *Keyring) Has(keyID string) bool {
	if k == nil {
		return false
	}
	_, ok := k.aeads[keyID]
	return ok
}

// Seal encrypts plaintext with the current key using AES-256-GCM. The
// returned ciphertext is a random 12-byte nonce followed by the GCM output
// (ciphertext and 16-byte tag); store it together with keyID. aad is
// authenticated but not encrypted: use it to bind the value to its place
// (see AAD) so that ciphertexts cannot be moved between rows or columns.
func (k *Keyring) Seal(plaintext, aad []byte) (keyID string, ciphertext []byte, err error) {
	if k == nil || len(k.ids) == 0 {
		return "", nil, fmt.Errorf("cannot encrypt: the key ring is empty; set %s", KeysVariable)
	}
	id := k.ids[0]
	return id, k.aeads[id].Seal(nil, nil, plaintext, aad), nil
}

// Open decrypts a ciphertext made by Seal with the key keyID and the same
// aad. An unknown keyID gives an error wrapping ErrUnknownKey that names the
// id; a wrong key, wrong aad or altered ciphertext gives ErrDecrypt.
func (k *Keyring) Open(keyID string, ciphertext, aad []byte) ([]byte, error) {
	var aead cipher.AEAD
	if k != nil {
		aead = k.aeads[keyID]
	}
	if aead == nil {
		return nil, fmt.Errorf("%w %q: the key ring lacks it; add it back to %s (the ring has: %s)",
			ErrUnknownKey, keyID, KeysVariable, k.idList())
	}
	if len(ciphertext) < aead.Overhead() {
		return nil, ErrDecrypt
	}
	plaintext, err := aead.Open(nil, nil, ciphertext, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}

// AAD builds associated data from parts (e.g. table, row id, column) in an
// unambiguous way: each part is length-prefixed, so ("ab","c") and
// ("a","bc") differ.
func AAD(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

func (k *Keyring) idList() string {
	if k == nil || len(k.ids) == 0 {
		return "no keys"
	}
	return strings.Join(k.ids, ", ")
}

// String describes the key ring without key material, e.g.
// "keyring(current=k2, keys=2)".
func (k Keyring) String() string {
	if len(k.ids) == 0 {
		return "keyring(empty)"
	}
	return "keyring(current=" + k.ids[0] + ", keys=" + strconv.Itoa(len(k.ids)) + ")"
}

// GoString is used by %#v; like String it shows no key material.
func (k Keyring) GoString() string {
	return "protect." + k.String()
}

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x, …) print the
// String form, so no verb can reach the keys.
func (k Keyring) Format(f fmt.State, verb rune) {
	s := k.String()
	switch {
	case verb == 'v' && f.Flag('#'):
		s = k.GoString()
	case verb == 'q':
		s = strconv.Quote(s)
	}
	_, _ = f.Write([]byte(s))
}

// LogValue implements slog.LogValuer.
func (k Keyring) LogValue() slog.Value {
	return slog.StringValue(k.String())
}

// MarshalJSON renders the key ring as its String form, so JSON loggers
// (zerolog's Interface, for one) show no key material either.
func (k Keyring) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(k.String())), nil
}
