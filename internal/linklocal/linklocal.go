// Package linklocal puts imdsemu at the address EC2 instances reach their
// metadata service on: 169.254.169.254 (and fd00:ec2::254 for IPv6).
//
// It adds those addresses to the loopback interface of the network
// namespace it runs in and removes them again, and it refuses to do so in
// the machine's initial network namespace: on a cloud machine that address
// IS the real metadata service, and taking it over would cut every program
// on the machine off from it (docs/deploy.md, "The safety rule").
package linklocal

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The addresses and port the AWS SDKs use by default.
const (
	IPv4 = "169.254.169.254"
	IPv6 = "fd00:ec2::254"
	Port = 80

	// ListenIPv4 and ListenIPv6 are the listener addresses for serve.
	ListenIPv4 = "169.254.169.254:80"
	ListenIPv6 = "[fd00:ec2::254]:80"

	// Device is the interface the addresses go on.
	Device = "lo"
)

// Addresses are the link-local metadata addresses, IPv4 first.
func Addresses() []netip.Addr {
	return []netip.Addr{netip.MustParseAddr(IPv4), netip.MustParseAddr(IPv6)}
}

// AddCommand is the iproute2 command that adds a to the loopback interface
// (run it inside the container's or namespace's network namespace, with
// CAP_NET_ADMIN). IPv6 uses nodad so the address is usable at once.
func AddCommand(a netip.Addr) string {
	if a.Is4() {
		return "ip addr add " + a.String() + "/32 dev " + Device
	}
	return "ip -6 addr add " + a.String() + "/128 dev " + Device + " nodad"
}

// Fixed inode numbers of the initial namespaces (include/uapi/linux/nsfs.h).
// The initial PID namespace has had its number since Linux 3.8; the initial
// network namespace only since Linux 6.18, before which it was numbered like
// any other.
const (
	pidInitIno = 0xEFFFFFFC
	netInitIno = 0xEFFFFFF9
)

// The first kernel release whose initial network namespace has the fixed
// inode number netInitIno.
const (
	fixedNetInoMajor = 6
	fixedNetInoMinor = 18
)

// Namespace is what the kernel says about the caller's namespaces, read
// from /proc.
type Namespace struct {
	Net uint64 // inode of /proc/thread-self/ns/net (the calling thread's)
	PID uint64 // inode of /proc/thread-self/ns/pid
	// Init is the inode of /proc/1/ns/net, PID 1 of the caller's PID
	// namespace; InitErr says why it could not be read.
	Init    uint64
	InitErr error
	Kernel  string // /proc/sys/kernel/osrelease, e.g. "6.18.4-arch1"
}

// ReadNamespace reads the caller's Namespace from proc (usually "/proc").
func ReadNamespace(proc string) (Namespace, error) {
	var n Namespace
	var err error
	if n.Net, err = nsIno(filepath.Join(proc, "thread-self", "ns", "net")); err != nil {
		return n, err
	}
	if n.PID, err = nsIno(filepath.Join(proc, "thread-self", "ns", "pid")); err != nil {
		return n, err
	}
	n.Init, n.InitErr = nsIno(filepath.Join(proc, "1", "ns", "net"))
	rel, err := os.ReadFile(filepath.Join(proc, "sys", "kernel", "osrelease"))
	if err != nil {
		return n, err
	}
	n.Kernel = strings.TrimSpace(string(rel))
	return n, nil
}

func nsIno(path string) (uint64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("%s: no inode number on this system", path)
	}
	return st.Ino, nil
}

// Verdict says whether a network namespace is the machine's own.
type Verdict int

const (
	// Separate: a network namespace of its own (a container's, a pod's,
	// one made with ip netns add or unshare -n).
	Separate Verdict = iota
	// Initial: the machine's own network namespace.
	Initial
	// Unknown: it cannot be told; treated like Initial.
	Unknown
)

func (v Verdict) String() string {
	switch v {
	case Separate:
		return "separate"
	case Initial:
		return "initial"
	default:
		return "unknown"
	}
}

// Classify decides whether n is the machine's initial network namespace,
// and says how it knows.
func (n Namespace) Classify() (Verdict, string) {
	if n.Net == netInitIno {
		return Initial, fmt.Sprintf("its inode number is %#x, the kernel's number for the initial network namespace", n.Net)
	}
	if kernelAtLeast(n.Kernel, fixedNetInoMajor, fixedNetInoMinor) {
		return Separate, fmt.Sprintf("net:[%d] is not the initial network namespace (Linux %s numbers that one %#x)", n.Net, n.Kernel, netInitIno)
	}
	if n.InitErr != nil {
		return Unknown, fmt.Sprintf("cannot read PID 1's network namespace to compare with (%v)", n.InitErr)
	}
	if n.Init != n.Net {
		return Separate, fmt.Sprintf("net:[%d] is not PID 1's network namespace net:[%d]", n.Net, n.Init)
	}
	if n.PID == pidInitIno {
		return Initial, fmt.Sprintf("it is PID 1's network namespace net:[%d], and PID 1 is the machine's init", n.Net)
	}
	return Unknown, fmt.Sprintf("this process is in a container's PID namespace, so PID 1 is the container's own first process, and on Linux %s (before %d.%d) the machine's network namespace has no fixed number to compare with; a container started with host networking would look the same", n.Kernel, fixedNetInoMajor, fixedNetInoMinor)
}

// kernelAtLeast reports whether release (as in uname -r) is at least
// major.minor.
func kernelAtLeast(release string, major, minor int) bool {
	want := [2]int{major, minor}
	var got [2]int
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	for i := range got {
		digits := strings.TrimRightFunc(parts[i], func(r rune) bool { return r < '0' || r > '9' })
		v, err := strconv.Atoi(digits)
		if err != nil {
			return false
		}
		got[i] = v
	}
	return got[0] > want[0] || got[0] == want[0] && got[1] >= want[1]
}

// ErrRefused is returned (wrapped) when the addresses would be claimed in
// the machine's own network namespace, or in one that cannot be told apart
// from it.
var ErrRefused = errors.New("refusing to claim the link-local metadata address")

// OverrideFlag is the flag that lets Check pass anyway.
const OverrideFlag = "--i-know-this-is-not-ec2"

// Check returns nil when n is a network namespace of its own, and an
// ErrRefused error saying why otherwise. With override it passes anyway.
func Check(n Namespace, override bool) error {
	v, why := n.Classify()
	if v == Separate || override {
		return nil
	}
	what := "this is the machine's own network namespace"
	if v == Unknown {
		what = "this may be the machine's own network namespace"
	}
	return fmt.Errorf("%w: %s: %s. On a cloud machine %s IS the real instance metadata service; "+
		"claiming it here would hand every program on the machine imdsemu's credentials instead of its own. "+
		"Run imdsemu inside a container, a pod or a network namespace (ip netns add, unshare -n) and claim it there; "+
		"if you are sure this network namespace is not the machine's own, pass %s",
		ErrRefused, what, why, IPv4, OverrideFlag)
}

// Present reports which of the link-local addresses are on an interface
// of the caller's network namespace.
func Present() (v4, v6 bool, err error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false, false, fmt.Errorf("listing interface addresses: %w", err)
	}
	want := Addresses()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		switch ip.Unmap() {
		case want[0]:
			v4 = true
		case want[1]:
			v6 = true
		}
	}
	return v4, v6, nil
}

// ExplainBind adds what to do to a listener's "permission denied" on a
// privileged port (below 1024): a non-root process needs
// CAP_NET_BIND_SERVICE. Any other error is returned as it is.
func ExplainBind(err error) error {
	var op *net.OpError
	if err == nil || !errors.As(err, &op) || op.Op != "listen" || !errors.Is(err, syscall.EACCES) {
		return err
	}
	port := 0
	if a, ok := op.Addr.(*net.TCPAddr); ok {
		port = a.Port
	}
	if port == 0 || port >= 1024 {
		return err
	}
	return fmt.Errorf("%w: binding port %d needs root or the capability CAP_NET_BIND_SERVICE "+
		"(podman/docker: --cap-add NET_BIND_SERVICE; Kubernetes: securityContext.capabilities.add: [NET_BIND_SERVICE]; "+
		"systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE; a binary: setcap cap_net_bind_service=+ep)", err, port)
}
