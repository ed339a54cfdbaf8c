// Command instances measures what each emulated instance costs a
// multi-instance imdsemu: memory per instance, and credential GETs routed
// to any of them.
//
// For each count N it writes a configuration of N instances, each with
// its own role, instance profile and source address (127.64.x.y, on
// loopback), starts `imdsemu serve` with GOMAXPROCS=1, and once it is
// ready (and 2 s later) reads its resident memory (/proc/PID/status) and
// Go heap (/metrics). Then it sends one IMDSv1 credential GET from every
// instance's address, round robin over the instances, each on a new
// connection, checks that each got its own role's credentials, reads the
// memory again, and reports the GETs per second. Per-instance figures are
// the differences to the first count, divided by the instances added.
//
//	go build -o /tmp/imdsemu ./cmd/imdsemu
//	go run ./bench/instances -bin /tmp/imdsemu -n 1,1000,10000
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imdsemu/imdsemu/bench/internal/ports"
)

func main() {
	bin := flag.String("bin", "imdsemu", "the imdsemu binary")
	counts := flag.String("n", "1,1000", "instance counts, comma-separated; the first is the base")
	gets := flag.Int("gets", 2, "credential GETs per instance after the first round (at least 1000 in all)")
	flag.Parse()
	var base *result
	fmt.Println("instances,ready_s,rss_kb,rss_anon_kb,heap_kb,rss_kb_after_gets,rss_anon_kb_after_gets,heap_kb_after_gets,gets_per_s")
	for _, s := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			log.Fatalf("-n: %q is not a count", s)
		}
		r, err := measure(*bin, n, *gets)
		if err != nil {
			log.Fatalf("%d instances: %v", n, err)
		}
		fmt.Printf("%d,%.1f,%d,%d,%d,%d,%d,%d,%.0f\n", n, r.ready.Seconds(), r.idle.rss, r.idle.anon, r.idle.heap/1024,
			r.served.rss, r.served.anon, r.served.heap/1024, r.getsPerSec)
		if base == nil {
			base = &r
			continue
		}
		per := func(a, b int64) float64 { return float64(a-b) / float64(n-base.n) }
		fmt.Fprintf(os.Stderr, "%d instances: per instance beyond %d: idle RSS %.1f KB (anonymous %.1f KB), heap %.1f KB; after GETs RSS %.1f KB, heap %.1f KB; routed GETs %.0f/s (%.2f× %d instance(s))\n",
			n, base.n, per(r.idle.rss, base.idle.rss), per(r.idle.anon, base.idle.anon), per(r.idle.heap, base.idle.heap)/1024,
			per(r.served.rss, base.served.rss), per(r.served.heap, base.served.heap)/1024, r.getsPerSec, r.getsPerSec/base.getsPerSec, base.n)
	}
}

type memory struct{ rss, anon, heap int64 } // KB, KB, bytes

type result struct {
	n            int
	ready        time.Duration
	idle, served memory
	getsPerSec   float64
}

// source is instance i's address: 127.64.0.1 onwards, 200 to a /24.
func source(i int) string { return fmt.Sprintf("127.64.%d.%d", i/200, i%200+1) }

func instanceID(i int) string { return fmt.Sprintf("i-%017x", i+1) }

func config(n int) string {
	var b strings.Builder
	b.WriteString("roles:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: r%d}\n", i)
	}
	b.WriteString("instance-profiles:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: r%d, role: r%d}\n", i, i)
	}
	b.WriteString("instances:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {id: %s, profile: r%d, match: {sources: [%s]}}\n", instanceID(i), i, source(i))
	}
	return b.String()
}

func measure(bin string, n, gets int) (result, error) {
	r := result{n: n}
	dir, err := os.MkdirTemp("", "instances-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "imdsemu.yaml")
	if err := os.WriteFile(cfg, []byte(config(n)), 0o600); err != nil {
		return r, err
	}
	p, err := ports.Free(3)
	if err != nil {
		return r, err
	}
	metadata := fmt.Sprintf("127.0.0.1:%d", p[0])
	admin := fmt.Sprintf("127.0.0.1:%d", p[1])
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", cfg, "--data-dir", filepath.Join(dir, "data"),
		"--metadata-addr", metadata, "--admin-addr", admin, "--sts-addr", fmt.Sprintf("127.0.0.1:%d", p[2]))
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return r, err
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	ready := make(chan struct{})
	go func() { // ends when the process's output does
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "imdsemu: ready") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		return r, fmt.Errorf("not ready: %w", ctx.Err())
	}
	r.ready = time.Since(start)
	time.Sleep(2 * time.Second)
	if r.idle, err = read(cmd.Process.Pid, admin); err != nil {
		return r, err
	}
	total := max(n*gets, 1000)
	var failed atomic.Int64
	var next atomic.Int64
	t0 := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for k := int(next.Add(1)) - 1; k < total; k = int(next.Add(1)) - 1 {
				if err := get(metadata, k%n); err != nil {
					if failed.Add(1) == 1 {
						log.Printf("GET as instance %d: %v", k%n, err)
					}
				}
			}
		})
	}
	wg.Wait()
	r.getsPerSec = float64(total) / time.Since(t0).Seconds()
	if f := failed.Load(); f > 0 {
		return r, fmt.Errorf("%d of %d GETs failed", f, total)
	}
	r.served, err = read(cmd.Process.Pid, admin)
	return r, err
}

// get fetches instance i's credentials from its source address on a new
// connection and checks that they are its role's.
func get(metadata string, i int) error {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source(i))}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: time.Minute}
	resp, err := c.Get("http://" + metadata + "/latest/meta-data/iam/security-credentials/")
	if err != nil {
		return err
	}
	role, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(role) != fmt.Sprintf("r%d", i) {
		return fmt.Errorf("role list: %d %q %v", resp.StatusCode, role, err)
	}
	resp, err = c.Get("http://" + metadata + "/latest/meta-data/iam/security-credentials/" + string(role))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var doc struct{ Code, AccessKeyId string }
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.Code != "Success" {
		return fmt.Errorf("credentials: %d %+v %v", resp.StatusCode, doc, err)
	}
	return nil
}

func read(pid int, admin string) (memory, error) {
	var m memory
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			m.rss, _ = strconv.ParseInt(f[1], 10, 64)
		case "RssAnon:":
			m.anon, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_alloc_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			m.heap = int64(f)
		}
	}
	return m, sc.Err()
}
