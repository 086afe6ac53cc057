package protect

import (
	"fmt"
	"net/http"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

const (
	// MetadataEncodingEncrypted is the payload "encoding" metadata value of
	// payloads encrypted by the codec.
	MetadataEncodingEncrypted = "binary/encrypted"

	// MetadataEncryptionKeyID is the payload metadata key that holds the id
	// of the key an encrypted payload was sealed with.
	MetadataEncryptionKeyID = "encryption-key-id"
)

// codecAAD is the associated data of every encrypted payload, so that a
// payload ciphertext cannot be passed off as a database column value
// (which is sealed with row-specific aad) or vice versa.
var codecAAD = []byte(MetadataEncodingEncrypted)

// codec is the Temporal payload codec that encrypts whole payloads.
type codec struct {
	keys *Keyring
}

// NewCodec returns a Temporal payload codec that encrypts every payload with
// the key ring's current key (Encode) and decrypts payloads with whichever
// key they name (Decode). Payloads that are not encrypted pass through
// Decode unchanged, so histories recorded before encryption still replay.
func NewCodec(k *Keyring) converter.PayloadCodec {
	return &codec{keys: k}
}

// Encode implements converter.PayloadCodec. Each payload is marshalled
// whole (metadata and data), sealed, and replaced by a payload with
// encoding binary/encrypted and the key id in its metadata.
func (c *codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		raw, err := p.Marshal()
		if err != nil {
			return nil, fmt.Errorf("encrypting payload: cannot marshal it: %w", err)
		}
		id, sealed, err := c.keys.Seal(raw, codecAAD)
		clear(raw)
		if err != nil {
			return nil, fmt.Errorf("encrypting payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(MetadataEncodingEncrypted),
				MetadataEncryptionKeyID:    []byte(id),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode implements converter.PayloadCodec. Payloads whose encoding is not
// binary/encrypted are returned as they are.
func (c *codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncodingEncrypted {
			out[i] = p
			continue
		}
		idBytes, ok := p.GetMetadata()[MetadataEncryptionKeyID]
		if !ok {
			return nil, fmt.Errorf("decrypting payload: it is encrypted but its metadata has no %q", MetadataEncryptionKeyID)
		}
		id := string(idBytes)
		raw, err := c.keys.Open(id, p.GetData(), codecAAD)
		if err != nil {
			return nil, fmt.Errorf("decrypting payload sealed with key %q: %w", id, err)
		}
		orig := &commonpb.Payload{}
		if err := orig.Unmarshal(raw); err != nil {
			// Do not wrap err: it might quote bytes of the plaintext.
			return nil, fmt.Errorf("decrypting payload sealed with key %q: the decrypted bytes are not a payload", id)
		}
		out[i] = orig
	}
	return out, nil
}

// DataConverter returns the SDK's default data converter wrapped with the
// encrypting codec; give it to the Temporal client (client.Options.DataConverter)
// of both the worker and every starter.
func DataConverter(k *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(k))
}

// CodecHandler returns an http.Handler speaking the Temporal codec server
// protocol (used by the Temporal UI and CLI): POST to a path ending in
// /encode or /decode with a JSON body {"payloads":[...]} (protojson of
// temporal.api.common.v1.Payloads); the response has the same shape. Other
// methods and paths get 404. It does no authorisation and no CORS: the
// caller must wrap it.
func CodecHandler(k *Keyring) http.Handler {
	return converter.NewPayloadCodecHTTPHandler(NewCodec(k))
}
