package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imdsemu/imdsemu/config"
	"github.com/imdsemu/imdsemu/imds"
)

// TestMetadataHandler_NoControlAPI checks that the metadata listener's
// handler answers control API paths as unknown metadata and changes nothing.
func TestMetadataHandler_NoControlAPI(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	ctl, err := newControlPlane(config.Settings{DataDir: dir}, slog.New(slog.DiscardHandler), reg)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.faults.Close()
	md, err := imds.New(imds.Options{
		Credentials: noRole{},
		TokenKey:    bytes.Repeat([]byte{7}, 32),
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ctl.metadataHandler(md, reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/v1/options", ""},
		{"PATCH", "/v1/options", `{"http-tokens":"required"}`},
		{"POST", "/v1/faults", `{"action":"refuse"}`},
		{"DELETE", "/v1/attachment", ""},
		{"POST", "/v1/profiles/imdsemu-demo/rotate", ""},
		{"GET", "/v1/events", ""},
		{"GET", "/metrics", ""},
	} {
		req := httptest.NewRequest(rq.method, rq.path, strings.NewReader(rq.body))
		req.Header.Set("Authorization", "Bearer "+ctl.token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s on the metadata handler = %d, want 404 or 405", rq.method, rq.path, rec.Code)
		}
		var js map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &js) == nil {
			t.Errorf("%s %s answered JSON: %s", rq.method, rq.path, rec.Body)
		}
	}
	if n := len(ctl.faults.Rules()); n != 0 {
		t.Errorf("%d fault rules after control requests to the metadata handler", n)
	}
	if o := md.Options(); o.HTTPTokens != imds.ModeOptional {
		t.Errorf("http-tokens = %s after a PATCH to the metadata handler", o.HTTPTokens)
	}
}

// noRole is an imds.CredentialSource with no role attached.
type noRole struct{}

func (noRole) Current() (imds.Attachment, bool) { return imds.Attachment{}, false }

func TestClientIP(t *testing.T) {
	for remote, want := range map[string]string{
		"127.0.0.1:54321":        "127.0.0.1",
		"10.1.2.3:80":            "10.1.2.3",
		"[::1]:54321":            "::1",
		"[::ffff:192.0.2.1]:443": "192.0.2.1",
		"[fe80::1%eth0]:80":      "fe80::1%eth0",
		"[fd00:ec2::254]:80":     "fd00:ec2::254",
		"not an address":         "not an address",
		"name:80":                "name:80",
		"":                       "",
		"@":                      "@",
		"01.2.3.4:80":            "01.2.3.4:80",
	} {
		if got := clientIP(remote); got != want {
			t.Errorf("clientIP(%q) = %q, want %q", remote, got, want)
		}
	}
}
