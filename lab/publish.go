package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Publisher sends a run's lanes, rows and events to a running imdsemu's
// POST /v1/lab, which streams them as "lab" events for the dashboard
// (docs/dashboard.md). Its methods never block the run: items are queued
// (up to a bound; more are counted as dropped) and posted in batches by a
// goroutine that NewPublisher starts and Close ends.
type Publisher struct {
	url, token string
	http       *http.Client

	mu      sync.Mutex
	queue   []json.RawMessage
	dropped int
	err     error // the last post's error
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}
}

// maxQueued bounds the items waiting to be posted.
const maxQueued = 4096

// maxBatch is the most items one POST carries (the server takes 512).
const maxBatch = 256

// NewPublisher returns a Publisher posting to the admin API at admin
// (http://host:port) with the bearer token. Call Close when the run ends.
func NewPublisher(admin, token string) *Publisher {
	p := &Publisher{url: strings.TrimRight(admin, "/") + "/v1/lab", token: token,
		http: &http.Client{Timeout: 10 * time.Second},
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go p.run()
	return p
}

// Lanes publishes the run's start and lanes.
func (p *Publisher) Lanes(scenario string, start time.Time, lanes []LaneInfo) {
	type lane struct {
		Name    string `json:"name"`
		Kind    string `json:"kind"`
		Version string `json:"version,omitempty"`
	}
	ls := make([]lane, len(lanes))
	for i, l := range lanes {
		ls[i] = lane{l.Name, l.Kind, l.Version}
	}
	p.add(struct {
		Type     string `json:"type"`
		Scenario string `json:"scenario"`
		Start    string `json:"start"`
		Lanes    []lane `json:"lanes"`
	}{"lanes", scenario, start.UTC().Format(time.RFC3339Nano), ls})
}

// Row publishes one call.
func (p *Publisher) Row(r Row) { p.add(r) }

// Event publishes one scenario step.
func (p *Publisher) Event(ev Event) { p.add(ev) }

// Done publishes the end of the run with the number of unmet expectations.
func (p *Publisher) Done(failures int) {
	p.add(struct {
		Type     string `json:"type"`
		Failures int    `json:"failures"`
	}{"done", failures})
}

func (p *Publisher) add(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	p.mu.Lock()
	if len(p.queue) >= maxQueued {
		p.dropped++
	} else {
		p.queue = append(p.queue, b)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Publisher) run() {
	defer close(p.stopped)
	for {
		select {
		case <-p.wake:
			p.flush()
		case <-p.done:
			p.flush()
			return
		}
	}
}

// flush posts everything queued, a batch at a time.
func (p *Publisher) flush() {
	for {
		p.mu.Lock()
		n := min(len(p.queue), maxBatch)
		batch := p.queue[:n:n]
		p.queue = p.queue[n:]
		p.mu.Unlock()
		if n == 0 {
			return
		}
		if err := p.post(batch); err != nil {
			p.mu.Lock()
			p.err = err
			p.dropped += n
			p.mu.Unlock()
		}
	}
}

func (p *Publisher) post(items []json.RawMessage) error {
	body, err := json.Marshal(map[string]any{"items": items})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("lab: publish to %s: %w", p.url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("lab: publish to %s: HTTP %d: %s", p.url, resp.StatusCode, bytes.TrimSpace(data))
	}
	return nil
}

// Close posts what is queued, stops the poster and returns how many items
// could not be published, with the last error. Call it once.
func (p *Publisher) Close() (dropped int, err error) {
	close(p.done)
	<-p.stopped
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped, p.err
}
