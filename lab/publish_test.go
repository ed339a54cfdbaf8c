package lab

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestPublisher(t *testing.T) {
	var (
		mu    sync.Mutex
		types []string
		auth  string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Items []struct{ Type string } }
		if r.URL.Path != "/v1/lab" || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		auth = r.Header.Get("Authorization")
		for _, it := range body.Items {
			types = append(types, it.Type)
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	p := NewPublisher(srv.URL+"/", "tok")
	now := time.Now()
	p.Lanes("rotation", now, []LaneInfo{{Name: "profile", Kind: KindProfile}})
	for range 300 { // more than one batch
		p.Row(Row{Lane: "profile", Time: now})
	}
	p.Event(Event{Time: now, Action: "rotate"})
	p.Done(0)
	if n, err := p.Close(); n != 0 || err != nil {
		t.Fatalf("Close = %d, %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if auth != "Bearer tok" {
		t.Errorf("Authorization %q", auth)
	}
	if len(types) != 303 || types[0] != "lanes" || types[1] != "row" || types[301] != "event" || types[302] != "done" {
		t.Errorf("posted %d items: first %v, last %v", len(types), types[:2], types[len(types)-2:])
	}
}

func TestPublisher_ServerRefuses(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	p := NewPublisher(srv.URL, "tok")
	p.Done(1)
	n, err := p.Close()
	if n != 1 || err == nil {
		t.Errorf("Close = %d, %v; want 1 item dropped with the reason", n, err)
	}
}
