package imds

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// MaxTokenTTL is the longest token lifetime IMDS grants: six hours.
const MaxTokenTTL = 21600 * time.Second

// A token is
//
//	base64url(payload) "." base64url(HMAC-SHA256(k, payload))
//	payload = version (1 byte) | expiry, Unix milliseconds (8 bytes, big endian) | nonce (16 bytes)
//
// with k derived from Options.TokenKey, both parts unpadded. Everything a
// verifier needs is in the token; the server keeps no table.
const (
	tokenVersion    = 1
	tokenNonceSize  = 16
	tokenPayloadLen = 1 + 8 + tokenNonceSize
	tokenMACLen     = sha256.Size
)

// tokenEncoding rejects non-zero padding bits, so each payload and tag has
// exactly one spelling and a token verifies only if it is byte-for-byte the
// one that was issued.
var tokenEncoding = base64.RawURLEncoding.Strict()

// Encoded lengths: unpadded base64 spends ceil(8n/6) characters on n bytes.
const (
	tokenPayloadEncLen = (tokenPayloadLen*8 + 5) / 6
	tokenLen           = tokenPayloadEncLen + 1 + (tokenMACLen*8+5)/6
)

// Reasons a token is refused. They go to Debug logs, never to clients.
var (
	errTokenMalformed = errors.New("token malformed")
	errTokenForged    = errors.New("token signature invalid")
	errTokenExpired   = errors.New("token expired")
)

// tokenCodec issues and verifies tokens. It is safe for concurrent use.
type tokenCodec struct {
	macs sync.Pool // of hash.Hash, HMAC-SHA256 under the derived key
}

func newTokenCodec(key []byte) *tokenCodec {
	// Derive a key of our own so that TokenKey may be shared with other
	// uses without a token ever doubling as something else's MAC.
	d := hmac.New(sha256.New, key)
	d.Write([]byte("imdsemu imds token v1"))
	k := d.Sum(nil)
	return &tokenCodec{macs: sync.Pool{New: func() any { return hmac.New(sha256.New, k) }}}
}

func (c *tokenCodec) mac(dst *[tokenMACLen]byte, payload []byte) {
	m := c.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(payload)
	m.Sum(dst[:0])
	c.macs.Put(m)
}

// issue returns a token that expires at expires.
func (c *tokenCodec) issue(expires time.Time, nonce *[tokenNonceSize]byte) string {
	var payload [tokenPayloadLen]byte
	payload[0] = tokenVersion
	binary.BigEndian.PutUint64(payload[1:9], uint64(expires.UnixMilli()))
	copy(payload[9:], nonce[:])
	var tag [tokenMACLen]byte
	c.mac(&tag, payload[:])

	buf := make([]byte, 0, tokenLen)
	buf = tokenEncoding.AppendEncode(buf, payload[:])
	buf = append(buf, '.')
	buf = tokenEncoding.AppendEncode(buf, tag[:])
	return string(buf)
}

// verify checks tok's tag and expiry at now and returns its expiry.
func (c *tokenCodec) verify(tok string, now time.Time) (time.Time, error) {
	if len(tok) != tokenLen || tok[tokenPayloadEncLen] != '.' {
		return time.Time{}, errTokenMalformed
	}
	var src [tokenLen]byte
	copy(src[:], tok)
	var payload [tokenPayloadLen + 2]byte // room for the decoder's last quantum
	n, err := tokenEncoding.Decode(payload[:], src[:tokenPayloadEncLen])
	if err != nil || n != tokenPayloadLen || payload[0] != tokenVersion {
		return time.Time{}, errTokenMalformed
	}
	var got [tokenMACLen + 2]byte
	n, err = tokenEncoding.Decode(got[:], src[tokenPayloadEncLen+1:])
	if err != nil || n != tokenMACLen {
		return time.Time{}, errTokenMalformed
	}
	var want [tokenMACLen]byte
	c.mac(&want, payload[:tokenPayloadLen])
	if !hmac.Equal(got[:tokenMACLen], want[:]) {
		return time.Time{}, errTokenForged
	}
	exp := int64(binary.BigEndian.Uint64(payload[1:9]))
	if now.UnixMilli() >= exp {
		return time.UnixMilli(exp), errTokenExpired
	}
	return time.UnixMilli(exp), nil
}

// parseTTL parses the TTL header: decimal digits only, 1 to 21600.
func parseTTL(v string) (int, bool) {
	if len(v) == 0 || len(v) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > int(MaxTokenTTL/time.Second) {
		return 0, false
	}
	return n, true
}

// serveToken answers /latest/api/token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) (code int, reason string) {
	switch r.Method {
	case http.MethodPut:
	case http.MethodOptions:
		// Real IMDS answers OPTIONS 200 and GET 405, both with this Allow
		// (captures quoted in kubernetes-sigs/cluster-api-provider-aws#1609
		// and in aws/amazon-ec2-metadata-mock).
		w.Header()["Allow"] = headerAllowToken
		return writeEmpty(w, r, http.StatusOK), ""
	default:
		w.Header()["Allow"] = headerAllowToken
		return writeEmpty(w, r, http.StatusMethodNotAllowed), "method not allowed"
	}
	s.applyHopLimit(w, r)
	// EC2 User Guide: "PUT requests are rejected if they contain an
	// X-Forwarded-For header"; captures show 403 with an empty body.
	if len(r.Header.Values("X-Forwarded-For")) > 0 {
		return writeEmpty(w, r, http.StatusForbidden), "X-Forwarded-For on token request"
	}
	vals := r.Header.Values(headerTokenTTL)
	if len(vals) == 0 {
		return writeError(w, r, http.StatusBadRequest), "TTL header missing"
	}
	ttl, ok := parseTTL(vals[0])
	if !ok {
		return writeError(w, r, http.StatusBadRequest), "TTL header invalid"
	}
	var nonce [tokenNonceSize]byte
	if _, err := io.ReadFull(s.rand, nonce[:]); err != nil {
		s.log.ErrorContext(r.Context(), "imds: reading token nonce", slog.String("error", err.Error()))
		return writeError(w, r, http.StatusInternalServerError), "nonce unavailable"
	}
	tok := s.tokens.issue(s.now().Add(time.Duration(ttl)*time.Second), &nonce)
	// aws-sdk-go-v2 reads the TTL back from this header and sends no token
	// at all without it (feature/ec2/imds api_op_GetToken.go).
	w.Header()[headerTokenTTL] = []string{strconv.Itoa(ttl)}
	if s.metrics != nil {
		s.metrics.tokensIssued.Inc()
	}
	return writeText(w, r, []byte(tok)), ""
}
