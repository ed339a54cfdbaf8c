package lab

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The proxy records each request with its version, and passes an upstream
// failure on as a dropped connection rather than a 502.
func TestProxy(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/drop" {
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
			return
		}
		if r.Method == http.MethodPut {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		io.WriteString(w, "web-role")
	}))
	defer up.Close()
	p, err := NewProxy("lane", up.URL+"/", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPut, p.URL+"latest/api/token", nil)
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("PUT through the proxy: %v, %v", resp, err)
	}
	resp.Body.Close()
	from := time.Now()
	resp, err = client.Get(p.URL + "latest/meta-data/iam/security-credentials/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "web-role" {
		t.Fatalf("GET body %q", body)
	}
	if _, err := client.Get(p.URL + "drop"); err == nil {
		t.Fatal("an upstream dropped connection reached the client as an answer")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("dropped connection: %v", err)
	}
	// The proxy records the dropped request after it reset the
	// connection, so the client may see the reset first.
	got := p.Requests()
	for len(got) < 3 {
		time.Sleep(10 * time.Millisecond)
		got = p.Requests()
	}
	if len(got) != 3 || got[0].Kind() != "PUT token 403" || got[1].Kind() != "GET v1" || got[2].Kind() != "GET v1 failed" {
		t.Fatalf("requests %+v", got)
	}
	if n := p.Between(from, time.Now()); n != 2 {
		t.Errorf("Between = %d, want 2", n)
	}
}
