// Command bare is the baseline of `make bench-http`: the least a net/http
// server can do to answer an IMDSv2 credential request.
//
// It issues tokens of imdsemu's format (base64url payload "." base64url
// HMAC-SHA256 tag, payload = version | expiry ms | 16-byte nonce) and, on a
// credential GET, checks the token exactly as imdsemu does (length, decoding,
// constant-time tag compare, expiry) before writing a fixed credential
// document of the same size and key order as imdsemu's. Everything imdsemu
// does beyond that (routing, metrics, modes, generations, faults, throttling)
// is the cost the benchmark measures. Like imdsemu (and EC2), the token PUT
// leaves with IP TTL 1 and closes its connection, so the hop limit never
// reaches a later response; a PUT baseline that kept the connection would
// measure a different protocol. It listens on loopback only.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"hash"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
)

const (
	payloadLen = 1 + 8 + 16
	macLen     = sha256.Size
	role       = "imdsemu-demo"
)

var enc = base64.RawURLEncoding.Strict()

type connKey struct{}

type server struct {
	macs sync.Pool
	doc  []byte
}

func (s *server) mac(dst *[macLen]byte, p []byte) {
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(p)
	m.Sum(dst[:0])
	s.macs.Put(m)
}

func (s *server) token(w http.ResponseWriter, r *http.Request) {
	ttl, err := strconv.Atoi(r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
	if err != nil || ttl < 1 || ttl > 21600 {
		http.Error(w, "bad ttl", http.StatusBadRequest)
		return
	}
	var p [payloadLen]byte
	p[0] = 1
	binary.BigEndian.PutUint64(p[1:9], uint64(time.Now().Add(time.Duration(ttl)*time.Second).UnixMilli()))
	rand.Read(p[9:])
	var tag [macLen]byte
	s.mac(&tag, p[:])
	b := enc.AppendEncode(make([]byte, 0, 80), p[:])
	b = append(b, '.')
	b = enc.AppendEncode(b, tag[:])
	if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
		ipv4.NewConn(c).SetTTL(1)
	}
	w.Header().Set("Connection", "close")
	w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", strconv.Itoa(ttl))
	w.Write(b)
}

func (s *server) valid(tok string) bool {
	const pl = (payloadLen*8 + 5) / 6
	if len(tok) != pl+1+(macLen*8+5)/6 || tok[pl] != '.' {
		return false
	}
	var p [payloadLen + 2]byte
	if n, err := enc.Decode(p[:], []byte(tok[:pl])); err != nil || n != payloadLen {
		return false
	}
	var got [macLen + 2]byte
	if n, err := enc.Decode(got[:], []byte(tok[pl+1:])); err != nil || n != macLen {
		return false
	}
	var want [macLen]byte
	s.mac(&want, p[:payloadLen])
	return hmac.Equal(got[:macLen], want[:]) && time.Now().UnixMilli() < int64(binary.BigEndian.Uint64(p[1:9]))
}

func (s *server) credentials(w http.ResponseWriter, r *http.Request) {
	// IMDSv1 when no token is sent, as in imdsemu's optional mode.
	if tok := r.Header.Get("X-Aws-Ec2-Metadata-Token"); tok != "" && !s.valid(tok) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write(s.doc)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	flag.Parse()
	key := make([]byte, 32)
	rand.Read(key)
	now := time.Now().UTC()
	s := &server{
		macs: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }},
		// Same fields, order and lengths as imdsemu's document.
		doc: fmt.Appendf(nil, "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : %q,\n  \"Type\" : \"AWS-HMAC\",\n"+
			"  \"AccessKeyId\" : \"ASIA%s\",\n  \"SecretAccessKey\" : %q,\n  \"Token\" : %q,\n  \"Expiration\" : %q\n}",
			now.Format(time.RFC3339), "BENCHBASELINE000", string(make40()), string(makeToken()), now.Add(6*time.Hour).Format(time.RFC3339)),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /latest/api/token", s.token)
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/"+role, s.credentials)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		log.Fatalf("bare: %s is not a loopback address", ip)
	}
	fmt.Fprintf(os.Stdout, "bare: listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) }}
	log.Fatal(srv.Serve(ln))
}

// make40 is a fake 40-character secret of the real length.
func make40() []byte { return fill(40) }

// makeToken is a fake session token of the length imdsemu's sealed tokens have.
func makeToken() []byte { return fill(584) }

func fill(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'A' + byte(i%26)
	}
	return b
}
