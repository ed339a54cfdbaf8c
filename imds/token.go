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
	"sync/atomic"
	"time"
)

// MaxTokenTTL is the longest token lifetime IMDS grants: six hours.
const MaxTokenTTL = 21600 * time.Second

// A token is
//
//	base64url(payload) "." base64url(HMAC-SHA256(k, payload | instance id))
//	payload = version (1 byte) | expiry, Unix milliseconds (8 bytes, big endian) | nonce (16 bytes)
//
// with k derived from Options.TokenKey, both parts unpadded. The instance
// id is MAC'd but not sent: it binds a token to its instance, as EC2's
// tokens are, so the instances of one process (one key) refuse each
// other's tokens. Everything else a verifier needs is in the token; the
// server keeps no table.
//
// Version 1 tokens bound the instance by deriving k from it, which gave
// every server its own MAC states: with thousands of instances each
// request found its server's pool cold. Since version 2 the servers of one
// key share one pool (through [Routes]).
const (
	tokenVersion    = 2
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

// tokenKey is what the servers of one TokenKey share: the derived key's
// pooled MAC states and the TTL headers made last. It is safe for
// concurrent use.
type tokenKey struct {
	k      []byte    // the derived key; never leaves the package
	macs   sync.Pool // of *macState
	putTTL intHeader // the TTL header of token PUTs
	getTTL intHeader // the remaining-TTL header of token-bearing GETs
}

// macState is a pooled HMAC-SHA256 under the derived key with buffers for
// its input and output: bytes passed to hash.Hash's methods escape, so the
// pool's buffers are what saves a heap allocation for each.
type macState struct {
	h   hash.Hash
	in  []byte // payload, then instance id
	out [tokenMACLen]byte
}

// deriveTokenKey derives the MAC key from key, so that TokenKey may be
// shared with other uses without a token ever doubling as something
// else's MAC.
func deriveTokenKey(key []byte) []byte {
	d := hmac.New(sha256.New, key)
	d.Write([]byte("imdsemu imds token v2\x00"))
	return d.Sum(nil)
}

func newTokenKey(derived []byte) *tokenKey {
	tk := &tokenKey{k: derived}
	tk.macs.New = func() any {
		return &macState{h: hmac.New(sha256.New, derived), in: make([]byte, 0, tokenPayloadLen+32)}
	}
	return tk
}

// tokenCodec issues and verifies the tokens of one instance. It is safe for
// concurrent use.
type tokenCodec struct {
	key *tokenKey
	id  string // the instance id, MAC'd after the payload
}

// newTokenCodec makes a codec of its own for key and the instance id.
// Servers get theirs from [Routes.tokenKey], which shares the MAC states.
func newTokenCodec(key []byte, instanceID string) *tokenCodec {
	return &tokenCodec{key: newTokenKey(deriveTokenKey(key)), id: instanceID}
}

func (c *tokenCodec) mac(dst *[tokenMACLen]byte, payload *[tokenPayloadLen]byte) {
	m := c.key.macs.Get().(*macState)
	m.in = append(append(m.in[:0], payload[:]...), c.id...)
	m.h.Reset()
	m.h.Write(m.in)
	m.h.Sum(m.out[:0])
	*dst = m.out
	c.key.macs.Put(m)
}

// appendToken appends a token that expires at expires to dst.
func (c *tokenCodec) appendToken(dst []byte, expires time.Time, nonce *[tokenNonceSize]byte) []byte {
	var payload [tokenPayloadLen]byte
	payload[0] = tokenVersion
	binary.BigEndian.PutUint64(payload[1:9], uint64(expires.UnixMilli()))
	copy(payload[9:], nonce[:])
	var tag [tokenMACLen]byte
	c.mac(&tag, &payload)

	dst = tokenEncoding.AppendEncode(dst, payload[:])
	dst = append(dst, '.')
	return tokenEncoding.AppendEncode(dst, tag[:])
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
	c.mac(&want, (*[tokenPayloadLen]byte)(payload[:tokenPayloadLen]))
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
	if len(r.Header["X-Forwarded-For"]) > 0 {
		return writeEmpty(w, r, http.StatusForbidden), "X-Forwarded-For on token request"
	}
	vals := r.Header[headerTokenTTL] // canonical names index the map directly
	if len(vals) == 0 {
		return writeError(w, r, http.StatusBadRequest), "TTL header missing"
	}
	ttl, ok := parseTTL(vals[0])
	if !ok {
		return writeError(w, r, http.StatusBadRequest), "TTL header invalid"
	}
	// One allocation holds the nonce (read through an interface, so it
	// would escape anyway) and the token after it.
	buf := make([]byte, tokenNonceSize, tokenNonceSize+tokenLen)
	if _, err := io.ReadFull(s.rand, buf); err != nil {
		s.log.ErrorContext(r.Context(), "imds: reading token nonce", slog.String("error", err.Error()))
		return writeError(w, r, http.StatusInternalServerError), "nonce unavailable"
	}
	tok := s.tokens.appendToken(buf[tokenNonceSize:], s.now().Add(time.Duration(ttl)*time.Second), (*[tokenNonceSize]byte)(buf))
	// aws-sdk-go-v2 reads the TTL back from this header and sends no token
	// at all without it (feature/ec2/imds api_op_GetToken.go).
	w.Header()[headerTokenTTL] = s.tokens.key.putTTL.values(int64(ttl))
	if s.metrics != nil {
		s.metrics.tokenIssued(s.tokens.id)
	}
	return writeBodyLen(w, r, http.StatusOK, headerTextPlain, tok, headerTokenLength), ""
}

// headerTokenLength is the Content-Length of every token.
var headerTokenLength = []string{strconv.Itoa(tokenLen)}

// intHeader keeps the last header value made from an integer, so that
// requests asking the same (a token TTL of 21600, a token's remaining
// seconds within one second) share one value instead of allocating it.
// The slice it returns is shared and never modified.
type intHeader struct {
	last atomic.Pointer[intHeaderValue]
}

type intHeaderValue struct {
	n int64
	v []string
}

func (h *intHeader) values(n int64) []string {
	if p := h.last.Load(); p != nil && p.n == n {
		return p.v
	}
	p := &intHeaderValue{n: n, v: []string{strconv.FormatInt(n, 10)}}
	h.last.Store(p)
	return p.v
}
