package fault

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNoTokenCounter(t *testing.T) {
	reg := prometheus.NewRegistry()
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(404)
			return
		}
		w.Write([]byte("ok"))
	})
	c, err := NewNoTokenCounter(next, reg, 2)
	if err != nil {
		t.Fatal(err)
	}
	send := func(method, path, remote string, token bool) {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = remote
		if token {
			r.Header.Set("X-aws-ec2-metadata-token", "t")
		}
		c.ServeHTTP(httptest.NewRecorder(), r)
	}
	send("GET", "/latest/meta-data/", "10.0.0.1:1", false)          // counts
	send("HEAD", "/latest/meta-data/", "10.0.0.1:2", false)         // counts
	send("GET", "/latest/meta-data/", "10.0.0.1:3", true)           // token: no
	send("PUT", "/latest/api/token", "10.0.0.1:4", false)           // token PUT: no
	send("GET", "/missing", "10.0.0.1:5", false)                    // 404: no
	send("GET", "/latest/meta-data/", "[::ffff:10.0.0.2]:1", false) // counts as 10.0.0.2
	if n, _ := testutil.GatherAndCount(reg, "imdsemu_imds_no_token_requests_total"); n != 2 {
		t.Errorf("series before a third client = %d, want 2 (no \"other\" at 0)", n)
	}
	send("GET", "/latest/meta-data/", "10.0.0.3:1", false) // third client: other
	for client, want := range map[string]float64{"10.0.0.1": 2, "10.0.0.2": 1, "other": 1} {
		if got := testutil.ToFloat64(c.requests.WithLabelValues(client)); got != want {
			t.Errorf("no_token_requests_total{client=%q} = %v, want %v", client, got, want)
		}
	}
	if n, _ := testutil.GatherAndCount(reg, "imdsemu_imds_no_token_requests_total"); n != 3 {
		t.Errorf("series = %d, want 3", n)
	}
	// Counts has what the metric has.
	if got := c.Counts(); len(got) != 3 || got["10.0.0.1"] != 2 || got["10.0.0.2"] != 1 || got["other"] != 1 {
		t.Errorf("Counts() = %v", got)
	}
}
