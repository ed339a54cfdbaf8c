package linklocal

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClassify(t *testing.T) {
	denied := &os.PathError{Op: "stat", Path: "/proc/1/ns/net", Err: syscall.EACCES}
	for _, tc := range []struct {
		name string
		n    Namespace
		want Verdict
		why  string
	}{
		{"fixed initial inode", Namespace{Net: netInitIno, PID: pidInitIno, Kernel: "6.18.2"}, Initial, "initial network namespace"},
		{"fixed inode even on an old kernel", Namespace{Net: netInitIno, Kernel: "5.10.0"}, Initial, "initial"},
		{"new kernel, other inode", Namespace{Net: 4026532500, PID: 4026532501, Init: 4026532500, Kernel: "6.18.44-fc"}, Separate, "not the initial"},
		{"new kernel, PID 1 unreadable", Namespace{Net: 4026532500, PID: pidInitIno, InitErr: denied, Kernel: "7.0.1"}, Separate, ""},
		{"old kernel, own namespace", Namespace{Net: 4026532300, PID: pidInitIno, Init: 4026531992, Kernel: "6.1.0-18-amd64"}, Separate, "not PID 1's"},
		{"old kernel, PID 1's namespace in the initial PID namespace", Namespace{Net: 4026531992, PID: pidInitIno, Init: 4026531992, Kernel: "6.1.0"}, Initial, "machine's init"},
		{"old kernel, PID 1 unreadable", Namespace{Net: 4026531992, PID: pidInitIno, InitErr: denied, Kernel: "5.15.0"}, Unknown, "cannot read PID 1"},
		{"old kernel, in a container", Namespace{Net: 4026532700, PID: 4026532701, Init: 4026532700, Kernel: "6.17.9"}, Unknown, "host networking"},
		{"unparsable kernel", Namespace{Net: 4026532700, PID: 4026532701, Init: 4026532700, Kernel: "weird"}, Unknown, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := tc.n.Classify()
			if got != tc.want || !strings.Contains(why, tc.why) {
				t.Errorf("Classify = %v %q, want %v containing %q", got, why, tc.want, tc.why)
			}
		})
	}
}

func TestKernelAtLeast(t *testing.T) {
	for _, tc := range []struct {
		rel  string
		want bool
	}{
		{"6.18", true}, {"6.18.44-fc-v1272", true}, {"6.19.0-rc1", true}, {"7.0.0", true}, {"10.1", true},
		{"6.17.13", false}, {"5.19.0", false}, {"4.19.0-26-amd64", false}, {"6", false}, {"", false}, {"x.y", false},
	} {
		if got := kernelAtLeast(tc.rel, 6, 18); got != tc.want {
			t.Errorf("kernelAtLeast(%q, 6, 18) = %v, want %v", tc.rel, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	initial := Namespace{Net: netInitIno, PID: pidInitIno, Kernel: "6.18.0"}
	err := Check(initial, false)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("Check(initial) = %v, want ErrRefused", err)
	}
	for _, want := range []string{"machine's own network namespace", "IS the real instance metadata service", "unshare -n", OverrideFlag} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if err := Check(initial, true); err != nil {
		t.Errorf("Check(initial, override) = %v, want nil", err)
	}
	unknown := Namespace{Net: 4026532700, PID: 4026532701, Init: 4026532700, Kernel: "6.1.0"}
	if err := Check(unknown, false); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "may be the machine's own") {
		t.Errorf("Check(unknown) = %v, want a refusal saying it may be the machine's own", err)
	}
	if err := Check(Namespace{Net: 4026532700, Kernel: "6.18.1"}, false); err != nil {
		t.Errorf("Check(separate) = %v", err)
	}
}

// TestClaimRefusesFirst: a refused claim changes nothing, so it may be
// tried anywhere (the e2e test runs the real refusal in the machine's
// namespace).
func TestClaimRefusesFirst(t *testing.T) {
	before, _ := net.InterfaceAddrs()
	c, err := ClaimAddresses(Options{Namespace: &Namespace{Net: netInitIno, Kernel: "6.18.0"}})
	if !errors.Is(err, ErrRefused) || c != nil {
		t.Fatalf("ClaimAddresses in the initial namespace = %v, %v; want ErrRefused", c, err)
	}
	after, _ := net.InterfaceAddrs()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("a refused claim changed the interface addresses: %v -> %v", before, after)
	}
	if _, err := ClaimAddresses(Options{Proc: t.TempDir()}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "cannot tell") {
		t.Errorf("ClaimAddresses with no /proc = %v, want a refusal: cannot tell", err)
	}
}

func TestReadNamespace(t *testing.T) {
	n, err := ReadNamespace("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if n.Net == 0 || n.PID == 0 || n.Kernel == "" {
		t.Errorf("ReadNamespace = %+v, want inodes and a kernel release", n)
	}
}

func TestAddCommand(t *testing.T) {
	a := Addresses()
	if got := AddCommand(a[0]); got != "ip addr add 169.254.169.254/32 dev lo" {
		t.Errorf("AddCommand(v4) = %q", got)
	}
	if got := AddCommand(a[1]); got != "ip -6 addr add fd00:ec2::254/128 dev lo nodad" {
		t.Errorf("AddCommand(v6) = %q", got)
	}
	if a[0] != netip.MustParseAddr(IPv4) || a[1] != netip.MustParseAddr(IPv6) {
		t.Errorf("Addresses = %v", a)
	}
	if ListenIPv4 != net.JoinHostPort(IPv4, "80") || ListenIPv6 != net.JoinHostPort(IPv6, "80") {
		t.Errorf("listen addresses %s %s", ListenIPv4, ListenIPv6)
	}
}

func TestExplainBind(t *testing.T) {
	bindErr := func(port int, errno syscall.Errno) error {
		return &net.OpError{Op: "listen", Net: "tcp", Addr: &net.TCPAddr{IP: net.ParseIP(IPv4), Port: port},
			Err: &os.SyscallError{Syscall: "bind", Err: errno}}
	}
	err := ExplainBind(fmt.Errorf("metadata listener: %w", bindErr(80, syscall.EACCES)))
	if !strings.Contains(err.Error(), "CAP_NET_BIND_SERVICE") || !strings.Contains(err.Error(), "port 80") || !errors.Is(err, syscall.EACCES) {
		t.Errorf("ExplainBind(port 80 EACCES) = %v", err)
	}
	for _, plain := range []error{nil, bindErr(8080, syscall.EACCES), bindErr(80, syscall.EADDRINUSE), errors.New("other")} {
		if got := ExplainBind(plain); got != plain {
			t.Errorf("ExplainBind(%v) = %v, want it unchanged", plain, got)
		}
	}
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}
