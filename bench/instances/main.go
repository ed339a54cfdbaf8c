// Command instances measures what each emulated instance costs a
// multi-instance imdsemu: memory per instance, time to ready, credential
// GETs routed to any of them, and how late rotations come.
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
// With -keepalive-rounds R it then runs the first count's server and the
// last count's side by side and sends IMDSv2 credential GETs over -conns
// keep-alive connections, each from the address of a random instance of
// the server (all of them the one instance's with one), in R rounds of
// -round each, alternating the servers, so that the two are compared in
// the same minutes: what routing among N instances costs, not connection
// setup.
//
// With -rotate D it starts the last count's server with a rotation
// interval that makes its N credential entries (a profile per instance;
// the identity roles' are minted on first use, and none is asked for)
// rotate at -rotate-rate per second, follows the
// control API's issued events (GET /v1/events?type=issued) and reports how
// late each rotation came (the event's at minus its due), for D idle and
// then for D under the keep-alive GET load. A stream the server drops for
// falling behind is followed again at once; the report gives the drops and
// the server's own count of mints, to show how many the sample missed.
//
//	go build -o /tmp/imdsemu ./cmd/imdsemu
//	go run ./bench/instances -bin /tmp/imdsemu -n 1,1000,10000
//	go run ./bench/instances -bin /tmp/imdsemu -n 1,10000 -keepalive-rounds 6 -rotate 60s
//
// With -svg it also draws resident memory by instance count (idle, after
// the GETs, the Go heap and the target of 4 KiB per instance);
// `make bench-instances` writes docs/bench/instances.csv and .svg.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	rounds := flag.Int("keepalive-rounds", 0, "rounds of keep-alive GETs on each of the first and last count's servers, alternating (0: none)")
	round := flag.Duration("round", 5*time.Second, "length of a keep-alive round")
	memory := flag.Bool("memory", true, "measure memory, time to ready and new-connection GETs of each count")
	settle := flag.Duration("settle", 10*time.Second, "wait after the keep-alive servers are ready, before warming up")
	conns := flag.Int("conns", 256, "keep-alive connections, each from a random instance's address")
	rotate := flag.Duration("rotate", 0, "follow rotations of the last count's server for this long, idle and then under keep-alive load (0: not)")
	rate := flag.Int("rotate-rate", 1000, "rotations per second the rotation interval is chosen for")
	svg := flag.String("svg", "", "write a chart of resident memory by instance count to this file (with -memory)")
	machine := flag.String("machine", "", "the machine, for the chart's subtitle")
	flag.Parse()
	var ns []int
	for _, s := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			log.Fatalf("-n: %q is not a count", s)
		}
		ns = append(ns, n)
	}
	var base *result
	var all []result
	fmt.Println("instances,ready_s,rss_kb,rss_anon_kb,heap_kb,rss_kb_after_gets,rss_anon_kb_after_gets,heap_kb_after_gets,gets_per_s")
	for _, n := range ns {
		if !*memory {
			break
		}
		r, err := measure(*bin, n, *gets)
		if err != nil {
			log.Fatalf("%d instances: %v", n, err)
		}
		fmt.Printf("%d,%.1f,%d,%d,%d,%d,%d,%d,%.0f\n", n, r.ready.Seconds(), r.idle.rss, r.idle.anon, r.idle.heap/1024,
			r.served.rss, r.served.anon, r.served.heap/1024, r.getsPerSec)
		all = append(all, r)
		if base == nil {
			base = &r
			continue
		}
		per := func(a, b int64) float64 { return float64(a-b) / float64(n-base.n) }
		fmt.Fprintf(os.Stderr, "%d instances: per instance beyond %d: idle RSS %.1f KiB (anonymous %.1f KiB), heap %.1f KiB; after GETs RSS %.1f KiB, heap %.1f KiB; routed GETs %.0f/s (%.2f× %d instance(s))\n",
			n, base.n, per(r.idle.rss, base.idle.rss), per(r.idle.anon, base.idle.anon), per(r.idle.heap, base.idle.heap)/1024,
			per(r.served.rss, base.served.rss), per(r.served.heap, base.served.heap)/1024, r.getsPerSec, r.getsPerSec/base.getsPerSec, base.n)
	}
	if *svg != "" && len(all) > 0 {
		if err := writeSVG(*svg, all, *machine, time.Now()); err != nil {
			log.Fatalf("-svg: %v", err)
		}
	}
	last := ns[len(ns)-1]
	if *rounds > 0 {
		if err := compareKeepAlive(*bin, ns[0], last, *rounds, *round, *settle, *conns); err != nil {
			log.Fatalf("keep-alive: %v", err)
		}
	}
	if *rotate > 0 {
		if err := rotations(*bin, last, *rate, *rotate, *conns); err != nil {
			log.Fatalf("rotations: %v", err)
		}
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

// config is n instances with their own roles; interval, if not zero, is
// the rotation interval (generations then live an hour).
func config(n int, interval time.Duration) string {
	var b strings.Builder
	if interval > 0 {
		fmt.Fprintf(&b, "rotation: {interval: %s, session-duration: 1h}\n", interval)
	}
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

// server is a running `imdsemu serve` of n instances.
type server struct {
	n               int
	cmd             *exec.Cmd
	dir             string
	metadata, admin string
	ready           time.Duration
	stop            func()
}

// start runs `imdsemu serve` with the configuration of n instances and
// waits until it is ready.
func start(bin string, n int, interval time.Duration) (_ *server, err error) {
	dir, err := os.MkdirTemp("", "instances-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	s := &server{n: n, dir: dir}
	s.stop = func() {
		cancel()
		if s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
		os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	cfg := filepath.Join(dir, "imdsemu.yaml")
	if err := os.WriteFile(cfg, []byte(config(n, interval)), 0o600); err != nil {
		return nil, err
	}
	p, err := ports.Free(3)
	if err != nil {
		return nil, err
	}
	s.metadata = fmt.Sprintf("127.0.0.1:%d", p[0])
	s.admin = fmt.Sprintf("127.0.0.1:%d", p[1])
	s.cmd = exec.CommandContext(ctx, bin, "serve", "--config", cfg, "--data-dir", filepath.Join(dir, "data"),
		"--metadata-addr", s.metadata, "--admin-addr", s.admin, "--sts-addr", fmt.Sprintf("127.0.0.1:%d", p[2]))
	s.cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stderr = s.cmd.Stdout
	t0 := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
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
		return nil, fmt.Errorf("not ready: %w", ctx.Err())
	}
	s.ready = time.Since(t0)
	return s, nil
}

func measure(bin string, n, gets int) (result, error) {
	r := result{n: n}
	s, err := start(bin, n, 0)
	if err != nil {
		return r, err
	}
	defer s.stop()
	r.ready = s.ready
	time.Sleep(2 * time.Second)
	if r.idle, err = read(s.cmd.Process.Pid, s.admin); err != nil {
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
				if err := get(s.metadata, k%n); err != nil {
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
	r.served, err = read(s.cmd.Process.Pid, s.admin)
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

// client is one keep-alive connection from an instance's address, with
// the IMDSv2 token it took.
type client struct {
	c          *http.Client
	url, token string
}

// clients opens conns keep-alive connections to s, each from the address
// of a random instance, and takes a token on each.
func clients(s *server, conns int) ([]*client, error) {
	out := make([]*client, conns)
	for k := range out {
		i := rand.IntN(s.n)
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source(i))}}
		c := &client{
			c:   &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 1}, Timeout: time.Minute},
			url: fmt.Sprintf("http://%s/latest/meta-data/iam/security-credentials/r%d", s.metadata, i),
		}
		req, _ := http.NewRequest(http.MethodPut, "http://"+s.metadata+"/latest/api/token", nil)
		req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "21600")
		resp, err := c.c.Do(req)
		if err != nil {
			return nil, err
		}
		tok, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return nil, fmt.Errorf("token: %d %v", resp.StatusCode, err)
		}
		c.token = string(tok)
		out[k] = c
	}
	return out, nil
}

// load sends credential GETs over cs for d, 32 at a time, each worker
// going round its share of the connections, and returns the GETs per
// second.
func load(cs []*client, d time.Duration) (float64, error) {
	const workers = 32
	var done, failed atomic.Int64
	var firstErr atomic.Value
	end := time.Now().Add(d)
	t0 := time.Now()
	var wg sync.WaitGroup
	for w := range min(workers, len(cs)) {
		wg.Go(func() {
			for k := w; time.Now().Before(end); k += workers {
				c := cs[k%len(cs)]
				if err := c.get(); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d GETs failed, the first: %v", f, firstErr.Load())
	}
	return float64(done.Load()) / time.Since(t0).Seconds(), nil
}

func (c *client) get() error {
	req, _ := http.NewRequest(http.MethodGet, c.url, nil)
	req.Header.Set("X-aws-ec2-metadata-token", c.token)
	resp, err := c.c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

// compareKeepAlive runs the servers of a and b instances side by side and
// loads them in turn, rounds times each, and prints each round's GETs per
// second and the ratio of the medians.
func compareKeepAlive(bin string, a, b, rounds int, round, settle time.Duration, conns int) error {
	var servers [2]*server
	var cs [2][]*client
	for k, n := range []int{a, b} {
		s, err := start(bin, n, 0)
		if err != nil {
			return err
		}
		defer s.stop()
		servers[k] = s
		if cs[k], err = clients(s, conns); err != nil {
			return err
		}
	}
	// Let start-up's background work (the garbage collector, the
	// scavenger) end, then warm both up.
	time.Sleep(settle)
	for k := range cs {
		if _, err := load(cs[k], round); err != nil {
			return err
		}
	}
	log.Printf("keep-alive: rounds start")
	var rates, cpu [2][]float64
	for r := range rounds {
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		for _, k := range order {
			c0, err := cpuTime(servers[k].cmd.Process.Pid)
			if err != nil {
				return err
			}
			t0 := time.Now()
			v, err := load(cs[k], round)
			if err != nil {
				return fmt.Errorf("%d instances: %w", servers[k].n, err)
			}
			c1, err := cpuTime(servers[k].cmd.Process.Pid)
			if err != nil {
				return err
			}
			rates[k] = append(rates[k], v)
			cpu[k] = append(cpu[k], float64((c1-c0).Microseconds())/(v*time.Since(t0).Seconds()))
		}
		fmt.Printf("keep-alive round %d: %d instance(s) %.0f GETs/s (%.1f µs CPU each), %d instances %.0f GETs/s (%.1f µs): %.3f×\n",
			r+1, a, rates[0][r], cpu[0][r], b, rates[1][r], cpu[1][r], rates[1][r]/rates[0][r])
	}
	ma, mb := median(rates[0]), median(rates[1])
	ca, cb := median(cpu[0]), median(cpu[1])
	fmt.Printf("keep-alive, %d connections from random instances, %d rounds of %s, medians: %d instance(s) %.0f GETs/s, %.1f µs server CPU each; %d instances %.0f GETs/s, %.1f µs: %.3f× the GETs/s, %.3f× the CPU\n",
		conns, rounds, round, a, ma, ca, b, mb, cb, mb/ma, cb/ca)
	return nil
}

// cpuTime is the user and system CPU time process pid has used
// (/proc/PID/stat, in clock ticks of 10 ms).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses: state
	// is the first, utime the 12th and stime the 13th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// rotations starts a server of n instances whose n entries rotate at
// rate per second and reports how late the rotations come, for d idle and
// for d under keep-alive load.
func rotations(bin string, n, rate int, d time.Duration, conns int) error {
	interval := time.Duration(float64(n) / float64(rate) * float64(time.Second))
	interval = max(interval.Round(time.Second), time.Second)
	s, err := start(bin, n, interval)
	if err != nil {
		return err
	}
	defer s.stop()
	cs, err := clients(s, conns)
	if err != nil {
		return err
	}
	tok, err := os.ReadFile(filepath.Join(s.dir, "data", "admin.token"))
	if err != nil {
		return err
	}
	f := &follower{url: "http://" + s.admin + "/v1/events?type=issued", token: strings.TrimSpace(string(tok)),
		late: map[int][]time.Duration{}, at: map[int][]time.Time{}, rotated: map[int]float64{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	followed := make(chan error, 1)
	go func() { followed <- f.follow(ctx) }() // ends with ctx
	fmt.Printf("rotation: %d instances, %d entries, interval %s (%.0f rotations/s)\n", n, n, interval, float64(n)/interval.Seconds())
	// The first rotations fall due an interval after the start-up mints.
	time.Sleep(interval + 2*time.Second)
	phase := func(p int) error {
		v, err := rotationsTotal(s.admin)
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.phase = p
		f.rotated[p] = v
		f.mu.Unlock()
		return nil
	}
	if err := phase(1); err != nil {
		return err
	}
	time.Sleep(d)
	if err := phase(2); err != nil {
		return err
	}
	v, err := load(cs, d)
	if err != nil {
		return err
	}
	if err := phase(3); err != nil {
		return err
	}
	cancel()
	if err := <-followed; err != nil {
		return err
	}
	if err := f.report("idle", 1); err != nil {
		return err
	}
	fmt.Printf("rotation under load: %.0f keep-alive GETs/s meanwhile\n", v)
	return f.report("under load", 2)
}

// follower follows a server's issued events and files each rotation's
// lateness under the phase it came in. A stream that falls behind is
// dropped by the server; the follower reconnects and counts the drops.
type follower struct {
	url, token string

	mu      sync.Mutex
	phase   int // 0 before the measurements, then 1 idle, 2 loaded, 3 done
	late    map[int][]time.Duration
	at      map[int][]time.Time
	drops   map[int]int
	rotated map[int]float64 // the rotation counter when the phase began
}

func (f *follower) follow(ctx context.Context) error {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
		req.Header.Set("Authorization", "Bearer "+f.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return ignoreCanceled(ctx, err)
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			return fmt.Errorf("events: %s", resp.Status)
		}
		err = f.read(resp.Body)
		resp.Body.Close()
		if err != nil {
			return ignoreCanceled(ctx, err)
		}
	}
	return nil
}

func ignoreCanceled(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// read files the rotations of one stream until it ends; a drop ends it
// with nil, counted.
func (f *follower) read(body io.Reader) error {
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		if line == "event: dropped" {
			f.mu.Lock()
			if f.drops == nil {
				f.drops = map[int]int{}
			}
			f.drops[f.phase]++
			f.mu.Unlock()
			return nil
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev struct {
			At, Due time.Time
			Seq     uint64
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil || ev.Seq < 2 || ev.Due.IsZero() {
			continue // start-up mints are due when their instance was added
		}
		f.mu.Lock()
		f.late[f.phase] = append(f.late[f.phase], ev.At.Sub(ev.Due))
		f.at[f.phase] = append(f.at[f.phase], ev.At)
		f.mu.Unlock()
	}
	return sc.Err()
}

func (f *follower) report(label string, p int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ts := slices.Clone(f.late[p]), f.at[p]
	if len(l) < 2 {
		return fmt.Errorf("%s: %d rotations", label, len(l))
	}
	span := ts[len(ts)-1].Sub(ts[0])
	slices.Sort(l)
	fmt.Printf("rotation %s: %d rotations followed (the server counted %.0f mints) in %s (%.0f/s), stream dropped %d times; late by median %s, p99 %s, max %s\n",
		label, len(l), f.rotated[p+1]-f.rotated[p], span.Round(time.Millisecond), float64(len(l))/span.Seconds(), f.drops[p],
		l[len(l)/2].Round(time.Microsecond), l[len(l)*99/100].Round(time.Microsecond), l[len(l)-1].Round(time.Microsecond))
	return nil
}

// rotationsTotal is the server's count of successful mints
// (imdsemu_refresher_rotations_total{result="success"}).
func rotationsTotal(admin string) (float64, error) {
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `imdsemu_refresher_rotations_total{result="success"} `); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no imdsemu_refresher_rotations_total in /metrics")
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
