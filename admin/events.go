package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// streamWriteTimeout bounds each write of the event stream. The server's
// WriteTimeout would end a stream that outlives it; instead every write
// gets its own deadline, so a stream lasts as long as its reader reads,
// and a reader that stops is dropped.
const streamWriteTimeout = 30 * time.Second

// events streams events as server-sent events (text/event-stream): one
// "id:", "event:" (the type) and "data:" (the event as JSON) block per event.
// ?type=served,issued keeps only those types. A client that falls more than
// the hub's buffer behind gets a final "event: dropped" block and the stream
// ends; it may reconnect. The stream also ends when the server shuts down.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	var types []string
	if q := r.URL.Query().Get("type"); q != "" {
		types = strings.Split(q, ",")
		for _, t := range types {
			if !slices.Contains(EventTypes(), t) {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown event type %q: want some of %s", t, strings.Join(EventTypes(), ", ")))
				return
			}
		}
	}
	rc := http.NewResponseController(w)
	sub, err := s.opts.Hub.Subscribe(types...)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "shutting down")
		return
	}
	defer sub.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	// Write deadlines are on the connection's wall clock, not s.opts.Now.
	deadline := func() { _ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)) }
	deadline()
	w.WriteHeader(http.StatusOK)
	// A comment, so that clients see the stream open at once.
	fmt.Fprint(w, ": imdsemu events\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				if sub.Dropped() {
					deadline()
					fmt.Fprint(w, "event: dropped\ndata: {\"error\":\"this stream fell too far behind and was dropped; reconnect\"}\n\n")
					_ = rc.Flush()
				}
				return
			}
			data, err := json.Marshal(ev)
			if err != nil {
				continue
			}
			deadline()
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, data); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}
