package admin

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"
)

// EventDemo is a narration step of a running demo ("imdsemu demo"),
// posted by the demo to POST /v1/demo and re-broadcast on the event
// stream so that an open dashboard shows it on its time axis. Change is
// the demo's name and Detail the [DemoStep].
const EventDemo = "demo"

// DemoStep is one narrated step of a demo as the demo checked it.
type DemoStep struct {
	N        int           `json:"n"`
	Title    string        `json:"title"`
	Text     string        `json:"text,omitempty"`
	Outcomes []DemoOutcome `json:"outcomes,omitempty"`
	// Passed: every outcome was as narrated.
	Passed bool `json:"passed"`
}

// DemoOutcome is what one actor's STS call gave in a step.
type DemoOutcome struct {
	Actor       string `json:"actor"`
	Want        string `json:"want,omitempty"` // "" when any outcome is fine
	Got         string `json:"got"`
	AccessKeyID string `json:"access_key_id,omitempty"`
	Note        string `json:"note,omitempty"`
}

// DemoPost is the body of POST /v1/demo.
type DemoPost struct {
	Demo string   `json:"demo"`
	Step DemoStep `json:"step"`
}

// Bounds of a posted narration: it is shown, not stored, but every
// subscriber gets a copy.
const (
	maxDemoText     = 2000
	maxDemoOutcomes = 16
)

func (s *Server) demoRoutes(v1 *mux.Router) {
	v1.Handle("/demo", methods{"POST": s.postDemo})
}

// postDemo publishes a demo narration step as an event; it changes
// nothing else.
func (s *Server) postDemo(w http.ResponseWriter, r *http.Request) {
	var p DemoPost
	if !decode(w, r, &p) {
		return
	}
	if err := p.validate(); err != nil {
		writeError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return
	}
	s.opts.Hub.Publish(Event{Type: EventDemo, At: s.now(), Change: p.Demo, Detail: p.Step})
	writeJSON(w, http.StatusAccepted, p)
}

func (p DemoPost) validate() error {
	n := len(p.Demo) + len(p.Step.Title) + len(p.Step.Text)
	for _, o := range p.Step.Outcomes {
		n += len(o.Actor) + len(o.Want) + len(o.Got) + len(o.AccessKeyID) + len(o.Note)
	}
	switch {
	case p.Demo == "" || p.Step.Title == "":
		return fmt.Errorf("demo and step.title are required")
	case n > maxDemoText:
		return fmt.Errorf("narration of %d characters; at most %d", n, maxDemoText)
	case len(p.Step.Outcomes) > maxDemoOutcomes:
		return fmt.Errorf("%d outcomes; at most %d", len(p.Step.Outcomes), maxDemoOutcomes)
	}
	return nil
}
