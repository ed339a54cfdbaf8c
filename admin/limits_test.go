package admin

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestServer_ErrorEchoIsClipped: a 400 that echoes a rejected value is
// bounded, however large the value: a 900 KB action name gets a reply of
// a few hundred bytes, not a second copy of the request.
func TestServer_ErrorEchoIsClipped(t *testing.T) {
	e := newEnv(t)
	huge := strings.Repeat("é", 450_000) // 900 KB, under the body limit
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/faults", `{"action":"` + huge + `"}`},
		{"POST", "/v1/faults", `{"action":"latency","delay":"` + huge + `"}`},
		{"PUT", "/v1/attachment", `{"role":"` + huge + `"}`},
		{"GET", "/v1/scenarios/" + strings.Repeat("n", 900_000), ``},
	} {
		rec := e.do(tc.method, tc.path, tc.body, "")
		if rec.Code < 400 || rec.Code > 499 {
			t.Errorf("%s %s with a 900 KB value = %d, want 4xx", tc.method, tc.path[:min(len(tc.path), 20)], rec.Code)
		}
		if n := rec.Body.Len(); n > 4*maxMessage {
			t.Errorf("%s %s with a 900 KB value: reply of %d bytes, want at most %d", tc.method, tc.path[:min(len(tc.path), 20)], n, 4*maxMessage)
		}
		var body ErrorBody
		decodeBody(t, rec, &body)
		if !strings.Contains(body.Error, "more bytes)") {
			t.Errorf("error = %.80q…, want it to say how much was cut", body.Error)
		}
	}
	if got := clip(strings.Repeat("é", maxMessage)); len(got) > maxMessage+40 || !strings.HasPrefix(got, "é") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("clip cut a rune in half or kept too much: %d bytes", len(got))
	}
}

// TestServer_UnauthenticatedBodyNotRead: an unauthenticated request gets
// its 401 before the server reads its body. The client sends the headers
// and 10 of the 1,000 bytes it announced, and never the rest; before the
// fix net/http waited for them before writing the 401.
func TestServer_UnauthenticatedBodyNotRead(t *testing.T) {
	e := newEnv(t)
	hs := httptest.NewServer(e.srv)
	defer hs.Close()
	c, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("POST /v1/faults HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"action\":")); err != nil {
		t.Fatal(err)
	}
	// A hang guard only: the answer needs no more than a scheduler tick.
	c.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to an unauthenticated POST whose body never ends: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.StatusCode)
	}
	if !resp.Close {
		t.Errorf("the 401 keeps the connection open, so its unread body would be read next")
	}
}
