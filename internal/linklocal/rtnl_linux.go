package linklocal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// rtnl is a route netlink socket in the network namespace of the thread
// that opened it, for the four requests linklocal makes: set a link up,
// add or remove an address, add a route, and look up the route to an
// address. (A netlink library did this for the price of about 0.4 MB of
// the binary, resident in every imdsemu process.) Not safe for concurrent
// use.
type rtnl struct {
	fd  int
	seq uint32
}

// nlmsgHdrLen, ifInfoMsgLen, ifAddrMsgLen and rtMsgLen are the sizes of the
// kernel's struct nlmsghdr, ifinfomsg, ifaddrmsg and rtmsg.
const (
	nlmsgHdrLen  = unix.SizeofNlMsghdr
	ifInfoMsgLen = unix.SizeofIfInfomsg
	ifAddrMsgLen = unix.SizeofIfAddrmsg
	rtMsgLen     = unix.SizeofRtMsg
)

func openRtnl() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	return &rtnl{fd: fd}, nil
}

func (r *rtnl) Close() error { return unix.Close(r.fd) }

// setUp sets the link with index up.
func (r *rtnl) setUp(index int) error {
	msg := make([]byte, ifInfoMsgLen)
	msg[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(msg[4:], uint32(int32(index)))
	binary.NativeEndian.PutUint32(msg[8:], unix.IFF_UP)  // ifi_flags
	binary.NativeEndian.PutUint32(msg[12:], unix.IFF_UP) // ifi_change
	_, err := r.do(unix.RTM_NEWLINK, unix.NLM_F_ACK, msg)
	return err
}

// addAddr adds a host address (a /32 or /128) to the link with index; it
// fails with EEXIST when the link has it already.
func (r *rtnl) addAddr(index int, a netip.Addr, flags uint8) error {
	_, err := r.do(unix.RTM_NEWADDR, unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL, addrMsg(index, a, flags))
	return err
}

// delAddr removes a host address from the link with index.
func (r *rtnl) delAddr(index int, a netip.Addr) error {
	_, err := r.do(unix.RTM_DELADDR, unix.NLM_F_ACK, addrMsg(index, a, 0))
	return err
}

// addrMsg is an ifaddrmsg for the host address a on the link with index,
// with a as both its local address and its address, as ip(8) sends it.
func addrMsg(index int, a netip.Addr, flags uint8) []byte {
	msg := make([]byte, ifAddrMsgLen)
	msg[0] = family(a)
	msg[1] = uint8(a.BitLen()) // prefix length
	msg[2] = flags
	msg[3] = unix.RT_SCOPE_UNIVERSE
	binary.NativeEndian.PutUint32(msg[4:], uint32(int32(index)))
	msg = appendAttr(msg, unix.IFA_LOCAL, a.AsSlice())
	return appendAttr(msg, unix.IFA_ADDRESS, a.AsSlice())
}

// addRoute adds a unicast route to the host dst through gw to the main
// table; it fails with EEXIST when there is one to dst already.
func (r *rtnl) addRoute(dst, gw netip.Addr) error {
	msg := routeMsg(dst)
	msg[4] = unix.RT_TABLE_MAIN
	msg[5] = unix.RTPROT_BOOT
	msg[6] = unix.RT_SCOPE_UNIVERSE
	msg[7] = unix.RTN_UNICAST
	msg = appendAttr(msg, unix.RTA_DST, dst.AsSlice())
	msg = appendAttr(msg, unix.RTA_GATEWAY, gw.AsSlice())
	_, err := r.do(unix.RTM_NEWROUTE, unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL, msg)
	return err
}

// routeGateway returns the gateway of the route the kernel would take to
// dst, or the invalid Addr for a route without obinary.NativeEndian.
func (r *rtnl) routeGateway(dst netip.Addr) (netip.Addr, error) {
	reply, err := r.do(unix.RTM_GETROUTE, 0, appendAttr(routeMsg(dst), unix.RTA_DST, dst.AsSlice()))
	if err != nil {
		return netip.Addr{}, err
	}
	if len(reply) < rtMsgLen {
		return netip.Addr{}, errors.New("netlink: short route message")
	}
	attrs, err := syscall.ParseNetlinkRouteAttr(&syscall.NetlinkMessage{
		Header: syscall.NlMsghdr{Type: unix.RTM_NEWROUTE}, Data: reply,
	})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("netlink: route attributes: %w", err)
	}
	for _, a := range attrs {
		if a.Attr.Type == unix.RTA_GATEWAY {
			gw, _ := netip.AddrFromSlice(a.Value)
			return gw, nil
		}
	}
	return netip.Addr{}, nil
}

// routeMsg is an rtmsg for the host route to dst.
func routeMsg(dst netip.Addr) []byte {
	msg := make([]byte, rtMsgLen)
	msg[0] = family(dst)
	msg[1] = uint8(dst.BitLen()) // rtm_dst_len
	return msg
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// appendAttr appends a route attribute (struct rtattr and its value,
// padded to 4 bytes).
func appendAttr(b []byte, typ uint16, value []byte) []byte {
	n := unix.SizeofRtAttr + len(value)
	b = binary.NativeEndian.AppendUint16(b, uint16(n))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, value...)
	return append(b, make([]byte, rtaAlign(n)-n)...)
}

func rtaAlign(n int) int { return (n + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1) }

// do sends one request and waits for its answer: the error the kernel
// acknowledged it with (a syscall.Errno, nil for success), or, for a
// request that is answered with a message (RTM_GETROUTE), that message's
// body.
func (r *rtnl) do(typ, flags uint16, body []byte) ([]byte, error) {
	r.seq++
	req := make([]byte, nlmsgHdrLen, nlmsgHdrLen+len(body))
	binary.NativeEndian.PutUint32(req[0:], uint32(nlmsgHdrLen+len(body)))
	binary.NativeEndian.PutUint16(req[4:], typ)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|flags)
	binary.NativeEndian.PutUint32(req[8:], r.seq)
	req = append(req, body...)
	if err := unix.Sendto(r.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 1<<16)
	for {
		n, from, err := unix.Recvfrom(r.fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("netlink receive: %w", err)
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue // not from the kernel
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("netlink: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != r.seq {
				continue
			}
			if m.Header.Type != unix.NLMSG_ERROR {
				return m.Data, nil
			}
			if len(m.Data) < 4 {
				return nil, errors.New("netlink: short error message")
			}
			if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
				return nil, syscall.Errno(-code)
			}
			return nil, nil
		}
	}
}
