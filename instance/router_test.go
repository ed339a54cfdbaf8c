package instance_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/instance"
)

func named(id string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, id) })
}

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func get(t *testing.T, h http.Handler, remote string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/latest/meta-data/iam/security-credentials/", nil)
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestRouter_BySourceLongestPrefix(t *testing.T) {
	r := instance.NewRouter()
	for _, rt := range []instance.Route{
		{ID: "i-a", Sources: pfx("10.0.0.0/16", "fd00:1::/64"), Handler: named("i-a")},
		{ID: "i-b", Sources: pfx("10.0.1.0/24"), Handler: named("i-b")},
		{ID: "i-c", Sources: pfx("10.0.1.7/32", "::ffff:10.9.9.9/128"), Handler: named("i-c")},
	} {
		if err := r.Set(rt); err != nil {
			t.Fatal(err)
		}
	}
	for remote, want := range map[string]string{
		"10.0.2.1:5000":          "i-a",
		"10.0.1.1:5000":          "i-b",
		"10.0.1.7:5000":          "i-c",
		"[::ffff:10.0.1.7]:5000": "i-c", // IPv4-mapped: the IPv4 address
		"10.9.9.9:1":             "i-c", // a mapped source serves the IPv4 client
		"[fd00:1::5]:80":         "i-a",
		"[fd00:1::5%eth0]:80":    "i-a",
	} {
		if code, body := get(t, r, remote); code != 200 || body != want {
			t.Errorf("%s -> %d %q, want %s", remote, code, body, want)
		}
	}
	// Unmatched clients get EC2's 404 page, never another instance.
	for _, remote := range []string{"192.168.1.1:1", "[fd00:2::1]:1", "not-an-address"} {
		if code, body := get(t, r, remote); code != 404 || !strings.Contains(body, "404 - Not Found") {
			t.Errorf("%s -> %d %q, want 404", remote, code, body)
		}
	}
	if err := r.SetDefault("i-b"); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, r, "192.168.1.1:1"); body != "i-b" {
		t.Errorf("unmatched with default -> %q, want i-b", body)
	}
	if err := r.SetDefault("i-zzz"); err == nil {
		t.Error("SetDefault(unknown) = nil")
	}
}

func TestRouter_ChangesAtRuntime(t *testing.T) {
	r := instance.NewRouter()
	if err := r.Set(instance.Route{ID: "i-a", Sources: pfx("10.0.0.1/32"), Handler: named("i-a")}); err != nil {
		t.Fatal(err)
	}
	// A source another instance serves is refused and changes nothing.
	if err := r.Set(instance.Route{ID: "i-b", Sources: pfx("10.0.0.1/32"), Handler: named("i-b")}); err == nil || !strings.Contains(err.Error(), "both serve 10.0.0.1/32") {
		t.Errorf("conflicting Set = %v", err)
	}
	if got := len(r.Routes()); got != 1 {
		t.Errorf("routes after a refused Set = %d, want 1", got)
	}
	// Replacing a route moves its sources.
	if err := r.Set(instance.Route{ID: "i-a", Sources: pfx("10.0.0.2/32"), Handler: named("i-a2")}); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, r, "10.0.0.1:1"); code != 404 {
		t.Errorf("old source -> %d, want 404", code)
	}
	if _, body := get(t, r, "10.0.0.2:1"); body != "i-a2" {
		t.Errorf("new source -> %q", body)
	}
	if err := r.SetDefault("i-a"); err != nil {
		t.Fatal(err)
	}
	if !r.Remove("i-a") || r.Remove("i-a") {
		t.Error("Remove should report true once")
	}
	if r.Default() != "" {
		t.Errorf("default after removing it = %q", r.Default())
	}
	if code, _ := get(t, r, "10.0.0.2:1"); code != 404 {
		t.Errorf("removed instance -> %d, want 404", code)
	}
}

func TestRouter_ManyInstancesAndLengths(t *testing.T) {
	r := instance.NewRouter()
	const n = 2000
	for i := range n {
		id := fmt.Sprintf("i-%d", i)
		addr := netip.AddrFrom4([4]byte{127, 64, byte(i / 200), byte(i%200 + 1)})
		if err := r.Set(instance.Route{ID: id, Sources: []netip.Prefix{netip.PrefixFrom(addr, 32)}, Handler: named(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Set(instance.Route{ID: "i-block", Sources: pfx("127.64.0.0/16"), Handler: named("i-block")}); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 199, 200, 1234, n - 1} {
		addr := netip.AddrFrom4([4]byte{127, 64, byte(i / 200), byte(i%200 + 1)})
		if id, _, ok := r.Lookup(addr); !ok || id != fmt.Sprintf("i-%d", i) {
			t.Errorf("%s -> %q, %t; want i-%d", addr, id, ok, i)
		}
	}
	if id, _, _ := r.Lookup(netip.MustParseAddr("127.64.99.1")); id != "i-block" {
		t.Errorf("an address only the block holds -> %q", id)
	}
	// Once the last /32 is gone, the block serves its addresses.
	for i := range n {
		r.Remove(fmt.Sprintf("i-%d", i))
	}
	if id, _, _ := r.Lookup(netip.MustParseAddr("127.64.0.1")); id != "i-block" {
		t.Errorf("after removing the /32s -> %q, want i-block", id)
	}
	if got := len(r.Routes()); got != 1 {
		t.Errorf("%d routes left, want 1", got)
	}
}

func BenchmarkRouter_Lookup(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := instance.NewRouter()
			addrs := make([]netip.Addr, n)
			for i := range n {
				addrs[i] = netip.AddrFrom4([4]byte{127, 64, byte(i / 200), byte(i%200 + 1)})
				if err := r.Set(instance.Route{ID: fmt.Sprint(i), Sources: []netip.Prefix{netip.PrefixFrom(addrs[i], 32)}, Handler: named("x")}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, _, ok := r.Lookup(addrs[i%n]); !ok {
					b.Fatal("no route")
				}
			}
		})
	}
}

// A source given twice is served once: removing its instance leaves the
// other instances with prefixes of the same length served.
func TestRouter_RepeatedSource(t *testing.T) {
	r := instance.NewRouter()
	for _, rt := range []instance.Route{
		{ID: "i-a", Sources: pfx("10.0.0.1/32", "10.0.0.1/32", "::ffff:10.0.0.1/128"), Handler: named("i-a")},
		{ID: "i-b", Sources: pfx("10.0.0.2/32"), Handler: named("i-b")},
	} {
		if err := r.Set(rt); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.Routes()[0].Sources; len(got) != 1 {
		t.Errorf("i-a's sources %v, want the one", got)
	}
	if !r.Remove("i-a") {
		t.Fatal("Remove(i-a) = false")
	}
	if code, body := get(t, r, "10.0.0.2:1"); code != 200 || body != "i-b" {
		t.Errorf("after removing i-a: 10.0.0.2 -> %d %q, want i-b", code, body)
	}
	if code, _ := get(t, r, "10.0.0.1:1"); code != 404 {
		t.Errorf("after removing i-a: 10.0.0.1 -> %d, want 404", code)
	}
}

// TestRouter_DefaultWithoutSources: with no source prefixes every client
// gets the default; once an instance has sources, clients are routed by
// them again, and the default serves the rest.
func TestRouter_DefaultWithoutSources(t *testing.T) {
	r := instance.NewRouter()
	if code, _ := get(t, r, "10.0.0.1:1"); code != 404 {
		t.Errorf("no instance -> %d, want 404", code)
	}
	if err := r.Set(instance.Route{ID: "i-a", Handler: named("i-a")}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetDefault("i-a"); err != nil {
		t.Fatal(err)
	}
	for _, remote := range []string{"127.0.0.1:1", "[::1]:1", "[fd00:ec2::254]:80"} {
		if _, body := get(t, r, remote); body != "i-a" {
			t.Errorf("%s -> %q, want the default i-a", remote, body)
		}
	}
	if err := r.Set(instance.Route{ID: "i-b", Sources: pfx("10.0.0.2/32"), Handler: named("i-b")}); err != nil {
		t.Fatal(err)
	}
	for remote, want := range map[string]string{"10.0.0.2:1": "i-b", "10.0.0.3:1": "i-a"} {
		if _, body := get(t, r, remote); body != want {
			t.Errorf("%s -> %q, want %s", remote, body, want)
		}
	}
	r.Remove("i-b")
	if _, body := get(t, r, "10.0.0.2:1"); body != "i-a" {
		t.Errorf("10.0.0.2:1 after i-b left -> %q, want the default i-a", body)
	}
}

// A connection's requests find their instance once (Router.ConnContext)
// and follow every change of the routes: a source moved to another
// instance, the instance removed, a default set.
func TestRouter_ConnRouteFollowsChanges(t *testing.T) {
	r := instance.NewRouter()
	if err := r.Set(instance.Route{ID: "a", Sources: pfx("127.0.0.1/32"), Handler: named("a")}); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(instance.Route{ID: "b", Sources: pfx("10.0.0.1/32"), Handler: named("b")}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(r)
	srv.Config.ConnContext = r.ConnContext
	conns := 0
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns++
		}
	}
	srv.Start()
	defer srv.Close()
	client := srv.Client() // one keep-alive connection, from 127.0.0.1
	get := func() string {
		t.Helper()
		resp, err := client.Get(srv.URL + "/latest/meta-data/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Sprint(resp.StatusCode)
		}
		return string(b)
	}
	for _, step := range []struct {
		change func() error
		want   string
	}{
		{func() error { return nil }, "a"},
		{func() error { return nil }, "a"},
		{func() error {
			return r.Set(instance.Route{ID: "b", Sources: pfx("10.0.0.1/32", "127.0.0.0/8"), Handler: named("b")})
		}, "a"}, // a's /32 is longer
		{func() error { return r.Set(instance.Route{ID: "a", Sources: pfx("192.0.2.1/32"), Handler: named("a")}) }, "b"},
		{func() error { r.Remove("b"); return nil }, "404"},
		{func() error { return r.SetDefault("a") }, "a"},
		{func() error { return r.Set(instance.Route{ID: "c", Sources: pfx("127.0.0.1/32"), Handler: named("c")}) }, "c"},
	} {
		if err := step.change(); err != nil {
			t.Fatal(err)
		}
		if got := get(); got != step.want {
			t.Errorf("routed to %s, want %s", got, step.want)
		}
	}
	if conns > 1 {
		t.Errorf("%d connections: the test wants every request on one", conns)
	}
}
