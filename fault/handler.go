package fault

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/imds"
	"github.com/imdsemu/imdsemu/internal/pattern"
)

// headerToken is the IMDSv2 token header.
const headerToken = "X-Aws-Ec2-Metadata-Token"

// tokenPath is where IMDSv2 tokens are issued.
const tokenPath = "/latest/api/token"

// Handler wraps the metadata handler next. With no active rule it costs one
// atomic load per request. Rules are tried in the order they were added:
// every latency rule that fires adds its delay, and the first other rule
// that fires decides the answer; when none does, next answers (after the
// delay).
func (in *Injector) Handler(next http.Handler) http.Handler {
	return &handler{in: in, next: next}
}

type handler struct {
	in   *Injector
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rules := h.in.rules.Load()
	if rules == nil {
		h.next.ServeHTTP(w, r)
		return
	}
	h.serveRules(w, r, *rules)
}

// request is what the matchers look at, computed once per request.
type request struct {
	r       *http.Request
	version string
	client  netip.Addr
}

func newRequest(r *http.Request) *request {
	q := &request{r: r, version: VersionV1}
	if len(r.Header.Values(headerToken)) > 0 || (r.Method == http.MethodPut && strings.TrimSuffix(r.URL.Path, "/") == tokenPath) {
		q.version = VersionV2
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		q.client = ap.Addr().Unmap()
	}
	return q
}

func (r *rule) matches(q *request) bool {
	if r.Path != "" && !strings.HasPrefix(q.r.URL.Path, r.Path) {
		return false
	}
	if r.Method != "" && r.Method != q.r.Method {
		return false
	}
	if r.Version != "" && r.Version != q.version {
		return false
	}
	if r.hasCl && !(q.client.IsValid() && r.client.Contains(q.client)) {
		return false
	}
	if r.rewrites() && !credentialDocument(q.r.URL.Path) {
		return false
	}
	return true
}

// afterDelayWrite bounds writing the answer once an injected delay is over.
const afterDelayWrite = 30 * time.Second

func (h *handler) serveRules(w http.ResponseWriter, r *http.Request, rules []*rule) {
	in := h.in
	q := newRequest(r)
	now := in.now()
	var (
		delay    time.Duration
		terminal *rule
	)
	for _, fr := range rules {
		if fr.Action == ActionRefuse || fr.ended.Load() || !fr.matches(q) {
			continue
		}
		if fr.expired(now) {
			in.retire(fr, "time up")
			continue
		}
		if !in.take(fr) {
			continue
		}
		ev := Fired{Method: r.Method, Path: r.URL.Path, At: now}
		if q.client.IsValid() {
			ev.Client = q.client.String()
		}
		in.fire(fr, ev)
		if fr.Action == ActionLatency {
			delay += time.Duration(fr.Delay)
			continue
		}
		terminal = fr
		break
	}
	if delay > 0 {
		// The server's WriteTimeout counts from the request; an injected
		// delay longer than it must still be answered. (The connection's
		// deadline is wall-clock, not in.now.)
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(delay + afterDelayWrite))
	}
	if delay > 0 && !in.sleep(r.Context(), delay) {
		// The client gave up or the server is stopping: no answer at all
		// (returning would send an empty 200).
		panic(http.ErrAbortHandler)
	}
	if terminal == nil {
		h.next.ServeHTTP(w, r)
		return
	}
	switch terminal.Action {
	case ActionStatus:
		writeStatus(w, r, terminal.Status)
	case ActionBlackhole:
		in.blackhole(w, r, terminal)
	case ActionReset:
		in.reset(w)
	case ActionMalformed, ActionExpired, ActionExpiring:
		in.rewrite(w, r, terminal, h.next)
	}
}

// sleep waits d, or until ctx is done or the injector closes; it reports
// whether the full delay passed.
func (in *Injector) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-in.done:
		return false
	}
}

// writeStatus answers code with the body real IMDS sends with it: an empty
// text/plain body for a refused token PUT and for 405 (with Allow), the
// XHTML error page otherwise, and an empty body for codes below 400.
func writeStatus(w http.ResponseWriter, r *http.Request, code int) {
	h := w.Header()
	h.Set("Server", "EC2ws")
	h.Set("Content-Type", "text/plain")
	var body []byte
	switch {
	case code == http.StatusMethodNotAllowed:
		if strings.TrimSuffix(r.URL.Path, "/") == tokenPath {
			h.Set("Allow", "OPTIONS, PUT")
		} else {
			h.Set("Allow", "GET, HEAD")
		}
	case code < 400, r.Method == http.MethodPut:
	default:
		h.Set("Content-Type", "text/html")
		body = imds.ErrorPage(code)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method != http.MethodHead && len(body) > 0 {
		_, _ = w.Write(body)
	}
}

// blackhole takes the connection over and never answers. It returns when
// the client closes the connection, the rule's For elapses, the rule is
// removed or cleared, or the injector closes.
func (in *Injector) blackhole(w http.ResponseWriter, r *http.Request, fr *rule) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): hold the request instead.
		ctx := r.Context()
		if !fr.until.IsZero() {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, fr.until)
			defer cancel()
		}
		in.holdRequest(ctx, fr)
		panic(http.ErrAbortHandler)
	}
	defer in.forget(conn)
	in.mu.Lock()
	if in.closed || fr.release.Load() {
		in.mu.Unlock()
		conn.Close()
		return
	}
	in.held[conn] = fr
	in.mu.Unlock()
	if !fr.until.IsZero() {
		_ = conn.SetReadDeadline(fr.until)
	} else {
		_ = conn.SetReadDeadline(time.Time{})
	}
	buf := make([]byte, 512)
	for {
		if _, err := conn.Read(buf); err != nil {
			break
		}
	}
	in.mu.Lock()
	delete(in.held, conn)
	in.mu.Unlock()
	conn.Close()
}

// holdRequest returns when ctx is done, fr is released or the injector
// closes. It polls nothing: it waits on the rules' change channel.
func (in *Injector) holdRequest(ctx context.Context, fr *rule) {
	for !fr.release.Load() {
		changed, done := in.changes()
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-changed:
		}
	}
}

// reset closes the connection with a TCP RST.
func (in *Injector) reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	resetConn(conn)
	in.forget(conn)
}

// forget drops a connection a handler took over, now closed, from the
// listeners (see Listener.ConnState).
func (in *Injector) forget(c net.Conn) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for l := range in.listeners {
		l.forget(c)
	}
}

func resetConn(c net.Conn) {
	if l, ok := c.(interface{ SetLinger(int) error }); ok {
		_ = l.SetLinger(0)
	}
	_ = c.Close()
}

// Credential document fields the rewrites touch.
var (
	expirationRe  = pattern.Lazy(`("Expiration"\s*:\s*)"[^"]*"`)
	accessKeyIDRe = pattern.Lazy(`("AccessKeyId"\s*:\s*)"[^"]*"`)
	codeRe        = pattern.Lazy(`"Code"\s*:\s*"[^"]*"\s*,\s*`)
)

// timestampLayout is how IMDS writes times.
const timestampLayout = "2006-01-02T15:04:05Z"

// rewrite lets next answer into a buffer and sends a changed credential
// document. Answers other than a 200 credential document pass unchanged.
func (in *Injector) rewrite(w http.ResponseWriter, r *http.Request, fr *rule, next http.Handler) {
	b := &bufferedResponse{header: http.Header{}}
	next.ServeHTTP(b, r)
	if b.code == 0 {
		b.code = http.StatusOK
	}
	body := b.buf.Bytes()
	if b.code == http.StatusOK && bytes.Contains(body, []byte(`"AccessKeyId"`)) {
		body = in.transform(body, fr)
		if fr.Action == ActionMalformed && fr.Body == BodyNotJSON {
			b.header.Set("Content-Type", "text/html")
		}
	}
	h := w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	if r.Method != http.MethodHead {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(b.code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (in *Injector) transform(doc []byte, fr *rule) []byte {
	now := in.now().UTC()
	switch fr.Action {
	case ActionExpired:
		return expirationRe.Regexp().ReplaceAll(doc, []byte(`${1}"`+now.Add(-time.Minute).Format(timestampLayout)+`"`))
	case ActionExpiring:
		return expirationRe.Regexp().ReplaceAll(doc, []byte(`${1}"`+now.Add(time.Duration(fr.ExpiresIn)).Format(timestampLayout)+`"`))
	}
	switch fr.Body {
	case BodyWrongTypes:
		doc = expirationRe.Regexp().ReplaceAll(doc, []byte(`${1}`+strconv.FormatInt(now.Add(time.Hour).Unix(), 10)))
		return accessKeyIDRe.Regexp().ReplaceAll(doc, []byte(`${1}12345`))
	case BodyMissingCode:
		return codeRe.Regexp().ReplaceAll(doc, nil)
	case BodyNotJSON:
		return imds.ErrorPage(http.StatusOK)
	}
	return doc[:len(doc)/2]
}

// bufferedResponse is an http.ResponseWriter that keeps the response.
type bufferedResponse struct {
	header http.Header
	code   int
	buf    bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.buf.Write(p)
}
