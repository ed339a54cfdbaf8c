package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// sseReader reads server-sent event blocks.
type sseReader struct{ sc *bufio.Scanner }

// next returns the next event block's fields; comments are skipped.
func (r *sseReader) next(t *testing.T) map[string]string {
	t.Helper()
	block := map[string]string{}
	for r.sc.Scan() {
		line := r.sc.Text()
		if line == "" {
			if len(block) > 0 {
				return block
			}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		k, v, _ := strings.Cut(line, ": ")
		block[k] = v
	}
	return nil
}

func openStream(t *testing.T, ctx context.Context, url string) (*http.Response, *sseReader) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /v1/events = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp, &sseReader{sc: bufio.NewScanner(resp.Body)}
}

func TestEvents_Stream(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	resp, sse := openStream(t, ctx, ts.URL+"/v1/events")
	defer resp.Body.Close()
	waitSubscribers(t, e.hub, 1)

	exp := testNow.Add(time.Hour)
	e.hub.Publish(Event{Type: EventIssued, Profile: instanceARN, Seq: 1, AccessKeyID: "ASIAONE", Expires: &exp})
	e.do("POST", "/v1/faults", `{"action":"reset"}`, "")
	e.hub.Publish(Event{Type: EventServed, AccessKeyID: "ASIAONE", Client: "10.0.0.1", Version: "v1", Path: "/latest/meta-data/iam/security-credentials/web-role"})

	want := []string{EventIssued, EventOptionsChanged, EventServed}
	for i, typ := range want {
		b := sse.next(t)
		if b["event"] != typ {
			t.Fatalf("event %d = %v, want type %s", i, b, typ)
		}
		var ev Event
		if err := json.Unmarshal([]byte(b["data"]), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != typ || b["id"] == "" {
			t.Errorf("event %d = %+v (id %q)", i, ev, b["id"])
		}
		if typ == EventOptionsChanged && ev.Change != "fault_added" {
			t.Errorf("change = %q, want fault_added", ev.Change)
		}
	}
	cancel()
	// The handler notices the client leaving and unsubscribes.
	waitSubscribers(t, e.hub, 0)
}

func TestEvents_TypeFilter(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	resp, sse := openStream(t, context.Background(), ts.URL+"/v1/events?type=served")
	defer resp.Body.Close()
	waitSubscribers(t, e.hub, 1)
	e.hub.Publish(Event{Type: EventIssued})
	e.hub.Publish(Event{Type: EventServed, Client: "10.0.0.9"})
	if b := sse.next(t); b["event"] != EventServed || !strings.Contains(b["data"], "10.0.0.9") {
		t.Errorf("first event = %v, want the served one only", b)
	}
}

func TestEvents_EndOnHubClose(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	resp, sse := openStream(t, context.Background(), ts.URL+"/v1/events")
	defer resp.Body.Close()
	waitSubscribers(t, e.hub, 1)
	e.hub.Close() // what serve registers with RegisterOnShutdown
	if b := sse.next(t); b != nil {
		t.Errorf("got %v after close, want the stream to end", b)
	}
	if rec := e.do("GET", "/v1/events", "", ""); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("subscribe after close = %d, want 503", rec.Code)
	}
}

func TestEvents_SlowSubscriberDropped(t *testing.T) {
	e := newEnv(t) // hub buffer 8
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	resp, sse := openStream(t, context.Background(), ts.URL+"/v1/events")
	defer resp.Body.Close()
	waitSubscribers(t, e.hub, 1)
	// The client reads nothing while far more events than the buffer (and
	// the socket buffers) are published; Publish must not block.
	big := strings.Repeat("x", 4096)
	for range 5000 {
		e.hub.Publish(Event{Type: EventServed, Path: big})
	}
	waitSubscribers(t, e.hub, 0)
	var last map[string]string
	for b := sse.next(t); b != nil; b = sse.next(t) {
		last = b
	}
	if last["event"] != "dropped" {
		t.Errorf("last block = %v, want event: dropped", last)
	}
}

func TestHub(t *testing.T) {
	h := NewHub(2, func() time.Time { return testNow })
	a, _ := h.Subscribe()
	b, _ := h.Subscribe()
	h.Publish(Event{Type: "x"})
	if ev := <-a.C; ev.ID != 1 || !ev.At.Equal(testNow) {
		t.Errorf("event = %+v, want id 1 stamped now", ev)
	}
	h.Publish(Event{Type: "y"}) // a: y; b: x, y (full)
	<-a.C
	h.Publish(Event{Type: "z"}) // a: z; b overflows and is dropped
	if !b.Dropped() || a.Dropped() {
		t.Errorf("dropped a=%v b=%v, want only b", a.Dropped(), b.Dropped())
	}
	n := 0
	for range b.C {
		n++
	}
	if n != 2 {
		t.Errorf("b got %d events before its channel closed, want 2", n)
	}
	if ev := <-a.C; ev.Type != "z" || ev.ID != 3 {
		t.Errorf("a got %+v, want z with id 3", ev)
	}
	if h.Subscribers() != 1 {
		t.Errorf("Subscribers = %d, want 1", h.Subscribers())
	}
	a.Close()
	a.Close()
	h.Close()
	h.Close()
	h.Publish(Event{Type: "after"})
	if _, err := h.Subscribe(); err != ErrHubClosed {
		t.Errorf("Subscribe after Close = %v", err)
	}
}

// TestHub_TypedSubscriber: events of other types do not fill a typed
// subscriber's buffer.
func TestHub_TypedSubscriber(t *testing.T) {
	h := NewHub(2, nil)
	defer h.Close()
	s, _ := h.Subscribe(EventIssued)
	for range 10 {
		h.Publish(Event{Type: EventServed})
	}
	h.Publish(Event{Type: EventIssued, Seq: 7})
	if s.Dropped() {
		t.Fatal("a subscriber to issued events was dropped for served ones")
	}
	if ev := <-s.C; ev.Type != EventIssued || ev.Seq != 7 {
		t.Errorf("got %+v, want the issued event", ev)
	}
}

// waitSubscribers waits for the hub to have n subscribers, failing after a
// minute rather than hanging until the test binary's timeout.
func waitSubscribers(t *testing.T, h *Hub, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for h.Subscribers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("hub has %d subscribers after a minute, want %d", h.Subscribers(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestEvents_OutlivesWriteTimeout: the stream keeps going past the
// server's WriteTimeout (each write sets its own deadline), as it must on
// the admin listener, whose server has one.
func TestEvents_OutlivesWriteTimeout(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewUnstartedServer(e.srv)
	ts.Config.WriteTimeout = 50 * time.Millisecond
	ts.Config.ReadTimeout = 50 * time.Millisecond
	ts.Start()
	defer ts.Close()
	resp, sse := openStream(t, context.Background(), ts.URL+"/v1/events")
	defer resp.Body.Close()
	waitSubscribers(t, e.hub, 1)
	time.Sleep(4 * ts.Config.WriteTimeout) // at least; no upper bound is asserted
	e.hub.Publish(Event{Type: EventServed, Client: "10.0.0.9"})
	if b := sse.next(t); b["event"] != EventServed {
		t.Fatalf("event after the server's WriteTimeout = %v, want served", b)
	}
}
