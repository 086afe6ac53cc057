package protect

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// Fixed test keys (32 bytes each, distinct).
var (
	key1  = bytes.Repeat([]byte{0x11}, 32)
	key2  = bytes.Repeat([]byte{0x22}, 32)
	b64k1 = base64.StdEncoding.EncodeToString(key1)
	b64k2 = base64.StdEncoding.EncodeToString(key2)
)

func mustParse(t *testing.T, spec string) *Keyring {
	t.Helper()
	k, err := ParseKeys(spec)
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	return k
}

func TestParseKeys(t *testing.T) {
	k := mustParse(t, " k2:"+b64k2+" , k1:"+base64.RawURLEncoding.EncodeToString(key1)+",")
	if got := k.CurrentID(); got != "k2" {
		t.Errorf("CurrentID = %q, want k2", got)
	}
	if got := k.IDs(); !slices.Equal(got, []string{"k2", "k1"}) {
		t.Errorf("IDs = %v, want [k2 k1]", got)
	}
	// IDs returns a copy.
	k.IDs()[0] = "x"
	if k.CurrentID() != "k2" {
		t.Error("IDs result aliases the key ring")
	}
	if !k.Has("k1") || k.Has("k3") {
		t.Error("Has is wrong")
	}

	// All base64 flavours are accepted.
	weird := []byte{0xfb, 0xff, 0xfe} // encodes to +//+ or -__-
	weird = append(weird, bytes.Repeat([]byte{0xfb}, 29)...)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		mustParse(t, "a_B-9:"+enc.EncodeToString(weird))
	}

	gen := GenerateKey()
	raw, err := base64.StdEncoding.DecodeString(gen)
	if err != nil || len(raw) != 32 {
		t.Fatalf("GenerateKey = %q: %d bytes, err %v", gen, len(raw), err)
	}
	if GenerateKey() == gen {
		t.Error("GenerateKey returned the same key twice")
	}
	mustParse(t, "dev:"+gen)
}

func TestParseKeysErrors(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x33}, 16))
	long := strings.Repeat("A", 44)
	tests := []struct {
		name   string
		spec   string
		secret string // must not appear in the error
		want   []string
	}{
		{"empty", "", "", []string{"ENCRYPTION_KEYS is empty", "id:base64key", "openssl rand -base64 32"}},
		{"blank", " , ,", "", []string{"ENCRYPTION_KEYS is empty"}},
		{"short key", "k1:" + short, short,
			[]string{`ENCRYPTION_KEYS: key "k1" is 16 bytes; each key must be 32 random bytes in base64 (make one with: openssl rand -base64 32)`}},
		{"bad id", "k 1:" + b64k1, b64k1, []string{`ENCRYPTION_KEYS: entry 1: key id "k 1" is not valid`, "1–32 characters"}},
		{"empty id", ":" + b64k1, b64k1, []string{"ENCRYPTION_KEYS: entry 1: key id is empty"}},
		{"long id", strings.Repeat("a", 33) + ":" + b64k1, b64k1, []string{"key id is 33 characters long"}},
		{"key in id place", b64k1 + ":k1", b64k1, []string{"ENCRYPTION_KEYS: entry 1: key id is 44 characters long"}},
		{"no colon", b64k1, b64k1, []string{"ENCRYPTION_KEYS: entry 1 has no key id"}},
		{"no colon second", "k1:" + b64k1 + "," + b64k2, b64k2, []string{"ENCRYPTION_KEYS: entry 2 has no key id"}},
		{"duplicate", "k1:" + b64k1 + ",k1:" + b64k2, b64k2, []string{`ENCRYPTION_KEYS: key id "k1" appears more than once`}},
		{"not base64", "k1:" + long[:20] + "!!" + long[:21], long[:20], []string{`ENCRYPTION_KEYS: key "k1" is not valid base64`, "openssl rand -base64 32"}},
		{"missing key", "k1:", "", []string{`ENCRYPTION_KEYS: key "k1" has no key after the colon`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeys(tt.spec)
			if err == nil {
				t.Fatalf("ParseKeys(%q) = %v, want error", tt.spec, k)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if tt.secret != "" && strings.Contains(msg, tt.secret) {
				t.Errorf("error %q contains key material", msg)
			}
			for _, s := range []string{b64k1, b64k2, short} {
				if strings.Contains(msg, s) {
					t.Errorf("error %q contains key material %q", msg, s)
				}
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	k := mustParse(t, "k1:"+b64k1)
	plain := []byte("Anna Andersson 19121212-1212")
	aad := AAD("participant", "42", "name")

	id, ct, err := k.Seal(plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	if id != "k1" {
		t.Errorf("Seal key id = %q, want k1", id)
	}
	if len(ct) != 12+len(plain)+16 {
		t.Errorf("ciphertext is %d bytes, want nonce+plaintext+tag = %d", len(ct), 12+len(plain)+16)
	}
	if bytes.Contains(ct, plain) {
		t.Error("ciphertext contains the plaintext")
	}
	_, ct2, _ := k.Seal(plain, aad)
	if bytes.Equal(ct, ct2) || bytes.Equal(ct[:12], ct2[:12]) {
		t.Error("two seals of the same value are identical (nonce reused)")
	}

	got, err := k.Open(id, ct, aad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Errorf("Open = %q, want %q", got, plain)
	}

	// Empty plaintext and nil aad work too.
	id, ct, _ = k.Seal(nil, nil)
	if got, err := k.Open(id, ct, nil); err != nil || len(got) != 0 {
		t.Errorf("Open(empty) = %q, %v", got, err)
	}
}

func TestOpenWrongAAD(t *testing.T) {
	k := mustParse(t, "k1:"+b64k1)
	id, ct, _ := k.Seal([]byte("secret"), AAD("participant", "42", "name"))
	for _, aad := range [][]byte{
		AAD("participant", "43", "name"),
		AAD("participant", "42", "email"),
		nil,
	} {
		_, err := k.Open(id, ct, aad)
		if !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Open with wrong aad: err = %v, want ErrDecrypt", err)
		}
		if err.Error() != "cannot decrypt: wrong key or the value was altered" {
			t.Errorf("error = %q", err)
		}
	}
	// AAD is unambiguous.
	if bytes.Equal(AAD("ab", "c"), AAD("a", "bc")) {
		t.Error(`AAD("ab","c") == AAD("a","bc")`)
	}
}

func TestOpenTampered(t *testing.T) {
	k := mustParse(t, "k1:"+b64k1)
	id, ct, _ := k.Seal([]byte("secret value"), nil)
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := k.Open(id, bad, nil); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Open with byte %d flipped: err = %v, want ErrDecrypt", i, err)
		}
	}
	for _, bad := range [][]byte{nil, ct[:10], ct[:27], ct[:len(ct)-1], append(bytes.Clone(ct), 0)} {
		if _, err := k.Open(id, bad, nil); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Open of %d bytes: err = %v, want ErrDecrypt", len(bad), err)
		}
	}
	// Same id, different key material: wrong key.
	other := mustParse(t, "k1:"+b64k2)
	if _, err := other.Open(id, ct, nil); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open with wrong key: err = %v, want ErrDecrypt", err)
	}
}

func TestRotation(t *testing.T) {
	a := mustParse(t, "k1:"+b64k1)
	b := mustParse(t, "k2:"+b64k2+",k1:"+b64k1)
	c := mustParse(t, "k2:"+b64k2)
	aad := AAD("participant", "7", "personnummer")

	oldID, oldCT, _ := a.Seal([]byte("old value"), aad)
	if oldID != "k1" {
		t.Fatalf("ring A sealed with %q", oldID)
	}
	got, err := b.Open(oldID, oldCT, aad)
	if err != nil || string(got) != "old value" {
		t.Fatalf("ring B Open(k1 value) = %q, %v", got, err)
	}
	newID, newCT, _ := b.Seal([]byte("new value"), aad)
	if newID != "k2" {
		t.Fatalf("ring B sealed with %q, want k2", newID)
	}
	if got, err := c.Open(newID, newCT, aad); err != nil || string(got) != "new value" {
		t.Fatalf("ring C Open(k2 value) = %q, %v", got, err)
	}
	// Ring A cannot read what B wrote with k2.
	if _, err := a.Open(newID, newCT, aad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("ring A Open(k2 value): err = %v, want ErrUnknownKey", err)
	}

	_, err = c.Open(oldID, oldCT, aad)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("ring C Open(k1 value): err = %v, want ErrUnknownKey", err)
	}
	msg := err.Error()
	for _, w := range []string{`"k1"`, "lacks", "ENCRYPTION_KEYS"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
	if strings.Contains(msg, b64k1) || strings.Contains(msg, b64k2) {
		t.Errorf("error %q contains key material", msg)
	}
}

func TestEmptyKeyring(t *testing.T) {
	for _, k := range []*Keyring{nil, {}} {
		if _, _, err := k.Seal([]byte("x"), nil); err == nil {
			t.Error("Seal on empty key ring succeeded")
		}
		if _, err := k.Open("k1", []byte("x"), nil); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Open on empty key ring: err = %v", err)
		}
		if k.CurrentID() != "" || len(k.IDs()) != 0 {
			t.Error("empty key ring has ids")
		}
	}
}

func TestKeyringPrinting(t *testing.T) {
	k := mustParse(t, "k2:"+b64k2+",k1:"+b64k1)
	jsonOut, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("start", "keys", k)

	outs := map[string]string{
		"%v":       fmt.Sprintf("%v", k),
		"%+v":      fmt.Sprintf("%+v", k),
		"%#v":      fmt.Sprintf("%#v", k),
		"%s":       fmt.Sprintf("%s", k),
		"%x":       fmt.Sprintf("%x", k),
		"%v value": fmt.Sprintf("%v", *k),
		"%+v val":  fmt.Sprintf("%+v", *k),
		"%#v val":  fmt.Sprintf("%#v", *k),
		"%v in struct": fmt.Sprintf("%+v", struct {
			K  *Keyring
			KV Keyring
		}{k, *k}),
		"json": string(jsonOut),
		"slog": logBuf.String(),
	}
	if got := outs["%v"]; got != "keyring(current=k2, keys=2)" {
		t.Errorf("%%v = %q", got)
	}
	if got := outs["%#v"]; got != "protect.keyring(current=k2, keys=2)" {
		t.Errorf("%%#v = %q", got)
	}
	hexs := []string{fmt.Sprintf("%x", key1), fmt.Sprintf("%x", key2)}
	for verb, out := range outs {
		if !strings.Contains(out, "current=k2") {
			t.Errorf("%s: %q does not describe the key ring", verb, out)
		}
		for _, secret := range append([]string{b64k1, b64k2, string(key1), string(key2)}, hexs...) {
			if strings.Contains(out, secret) {
				t.Errorf("%s: %q contains key material", verb, out)
			}
		}
		// The test keys are runs of one byte; a run of the byte in any
		// common rendering would show up as these.
		for _, frag := range []string{"1111111111", "2222222222", "17 17 17 17", "34 34 34 34", "ERER", "IiIi"} {
			if strings.Contains(out, frag) {
				t.Errorf("%s: %q looks like key material", verb, out)
			}
		}
	}
}

type person struct {
	Name string
	Age  int
}

func TestCodecRoundTrip(t *testing.T) {
	k := mustParse(t, "k2:"+b64k2+",k1:"+b64k1)
	dc := DataConverter(k)
	in := person{Name: "Anna Andersson 19121212-1212", Age: 113}

	p, err := dc.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.GetData(), []byte(in.Name)) || bytes.Contains(p.GetData(), []byte("19121212")) {
		t.Error("encoded payload data contains the plaintext")
	}
	if got := string(p.GetMetadata()[converter.MetadataEncoding]); got != MetadataEncodingEncrypted {
		t.Errorf("encoding = %q, want %q", got, MetadataEncodingEncrypted)
	}
	if got := string(p.GetMetadata()[MetadataEncryptionKeyID]); got != "k2" {
		t.Errorf("key id = %q, want k2", got)
	}
	if len(p.GetMetadata()) != 2 {
		t.Errorf("metadata = %v, want only encoding and key id", p.GetMetadata())
	}

	var out person
	if err := dc.FromPayload(p, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}

	// Several payloads at once.
	ps, err := dc.ToPayloads("a", 1, in)
	if err != nil {
		t.Fatal(err)
	}
	var (
		s string
		n int
		q person
	)
	if err := dc.FromPayloads(ps, &s, &n, &q); err != nil {
		t.Fatal(err)
	}
	if s != "a" || n != 1 || q != in {
		t.Errorf("FromPayloads = %q %d %+v", s, n, q)
	}

	// After rotation a ring without k2 cannot decode, and says which key.
	old := DataConverter(mustParse(t, "k1:"+b64k1))
	err = old.FromPayload(p, &out)
	if err == nil || !strings.Contains(err.Error(), `"k2"`) {
		t.Errorf("decode with ring lacking k2: err = %v, want it to name k2", err)
	}
	if err != nil && strings.Contains(err.Error(), "Anna") {
		t.Errorf("error %q contains plaintext", err)
	}

	// Tampered payload.
	bad := &commonpb.Payload{Metadata: p.GetMetadata(), Data: bytes.Clone(p.GetData())}
	bad.Data[len(bad.Data)-1] ^= 1
	if err := dc.FromPayload(bad, &out); !errors.Is(err, ErrDecrypt) {
		t.Errorf("tampered payload: err = %v, want ErrDecrypt", err)
	}

	// Encrypted but no key id.
	noID := &commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(MetadataEncodingEncrypted)},
		Data:     p.GetData(),
	}
	if err := dc.FromPayload(noID, &out); err == nil || !strings.Contains(err.Error(), MetadataEncryptionKeyID) {
		t.Errorf("payload without key id: err = %v", err)
	}
}

func TestCodecPassThrough(t *testing.T) {
	k := mustParse(t, "k1:"+b64k1)
	plainDC := converter.GetDefaultDataConverter()
	in := person{Name: "Recorded Before Encryption", Age: 1}
	p, err := plainDC.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}

	decoded, err := NewCodec(k).Decode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	if len(decoded) != 1 || decoded[0] != p {
		t.Errorf("Decode changed an unencrypted payload: %v", decoded)
	}

	var out person
	if err := DataConverter(k).FromPayload(p, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("FromPayload = %+v, want %+v", out, in)
	}

	// Encode does not mutate its input.
	before := bytes.Clone(p.GetData())
	if _, err := NewCodec(k).Encode([]*commonpb.Payload{p}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.GetData(), before) || string(p.GetMetadata()[converter.MetadataEncoding]) != converter.MetadataEncodingJSON {
		t.Error("Encode mutated its input payload")
	}
}

// wirePayloads mirrors the JSON the Temporal UI and CLI send to a codec
// server: protojson of temporal.api.common.v1.Payloads, where bytes are
// standard base64.
type wirePayloads struct {
	Payloads []wirePayload `json:"payloads"`
}

type wirePayload struct {
	Metadata map[string][]byte `json:"metadata,omitempty"`
	Data     []byte            `json:"data,omitempty"`
}

func postCodec(t *testing.T, h http.Handler, path string, ps []*commonpb.Payload) (*httptest.ResponseRecorder, []*commonpb.Payload) {
	t.Helper()
	var req wirePayloads
	for _, p := range ps {
		req.Payloads = append(req.Payloads, wirePayload{Metadata: p.GetMetadata(), Data: p.GetData()})
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		return rec, nil
	}
	var resp wirePayloads
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response %q: %v", rec.Body.String(), err)
	}
	var out []*commonpb.Payload
	for _, p := range resp.Payloads {
		out = append(out, &commonpb.Payload{Metadata: p.Metadata, Data: p.Data})
	}
	return rec, out
}

func TestCodecHandler(t *testing.T) {
	k := mustParse(t, "k2:"+b64k2+",k1:"+b64k1)
	h := CodecHandler(k)
	in := person{Name: "Anna Andersson 19121212-1212", Age: 113}
	enc, err := DataConverter(k).ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := converter.GetDefaultDataConverter().ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}

	// Decode: encrypted and unencrypted payloads in one request, under a
	// prefix as the UI uses (…/decode).
	rec, got := postCodec(t, h, "/api/codec/decode", []*commonpb.Payload{enc, plain})
	if rec.Code != http.StatusOK {
		t.Fatalf("decode: %d %s", rec.Code, rec.Body.String())
	}
	if len(got) != 2 {
		t.Fatalf("decode returned %d payloads, want 2", len(got))
	}
	for i, p := range got {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != converter.MetadataEncodingJSON {
			t.Errorf("payload %d: encoding %q, want json/plain", i, p.GetMetadata()[converter.MetadataEncoding])
		}
		var out person
		if err := converter.GetDefaultDataConverter().FromPayload(p, &out); err != nil {
			t.Fatal(err)
		}
		if out != in {
			t.Errorf("payload %d decoded to %+v, want %+v", i, out, in)
		}
	}
	if !strings.Contains(rec.Body.String(), base64.StdEncoding.EncodeToString(plain.GetData())) {
		t.Errorf("decode response %q lacks the plaintext data", rec.Body.String())
	}

	// Encode: the UI/CLI can also ask the server to encrypt.
	rec, got = postCodec(t, h, "/encode", []*commonpb.Payload{plain})
	if rec.Code != http.StatusOK {
		t.Fatalf("encode: %d %s", rec.Code, rec.Body.String())
	}
	if len(got) != 1 || string(got[0].GetMetadata()[MetadataEncryptionKeyID]) != "k2" {
		t.Fatalf("encode returned %v", got)
	}
	if strings.Contains(rec.Body.String(), base64.StdEncoding.EncodeToString(plain.GetData())) {
		t.Error("encode response contains the plaintext")
	}
	var out person
	if err := DataConverter(k).FromPayload(got[0], &out); err != nil || out != in {
		t.Errorf("decoding server-encoded payload: %+v, %v", out, err)
	}

	// A ring lacking the key: 400 naming the key, without the plaintext.
	rec, _ = postCodec(t, CodecHandler(mustParse(t, "k1:"+b64k1)), "/decode", []*commonpb.Payload{enc})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "k2") {
		t.Errorf("decode with missing key: %d %q", rec.Code, rec.Body.String())
	}

	// Wrong method and path.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/decode", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /decode: %d, want 404", rec.Code)
	}
	rec, _ = postCodec(t, h, "/other", []*commonpb.Payload{plain})
	if rec.Code != http.StatusNotFound {
		t.Errorf("POST /other: %d, want 404", rec.Code)
	}
}
