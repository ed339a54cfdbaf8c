// Package ports finds loopback ports for the benchmark commands to hand to
// the servers they start.
package ports

import "net"

// Free returns n loopback ports that were free a moment ago: each is
// listened on, then all are closed, so n distinct ports come back.
func Free(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
