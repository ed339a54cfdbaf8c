package admin

import (
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/gorilla/mux"

	"github.com/imdsemu/imdsemu/fault"
)

// EventNotice reports an instance notice posted, withdrawn, canceled or
// cleared, through the control API or by a scenario step. Change says
// which ("posted", "withdrawn", "canceled", "cleared") and Detail holds
// the Notice (or, for cleared, {"removed": N}).
const EventNotice = "notice"

// Notice is an instance notice as the control API shows it: what the
// metadata server serves under spot/, events/ and autoscaling/.
type Notice struct {
	// ID names the notice: its kind, or a maintenance event's EventId.
	ID     string    `json:"id"`
	Kind   string    `json:"kind"`
	Posted time.Time `json:"posted"`
	// Action and Time: a Spot interruption's action and when it happens.
	Action string     `json:"action,omitempty"`
	Time   *time.Time `json:"time,omitempty"`
	// A maintenance event's window, code, description and state (active,
	// completed, canceled); State is also an asg-lifecycle notice's target
	// lifecycle state.
	NotBefore   *time.Time `json:"not_before,omitempty"`
	NotAfter    *time.Time `json:"not_after,omitempty"`
	Code        string     `json:"code,omitempty"`
	Description string     `json:"description,omitempty"`
	State       string     `json:"state,omitempty"`
}

// NoticeList is the answer of GET /v1/notices.
type NoticeList struct {
	Notices []Notice `json:"notices"`
}

// Notices are the instance's notices. The body of POST /v1/notices is a
// fault.Notice, the type of a scenario's notice step. FireNotice fails with
// ErrInvalid for a bad request and ErrConflict for a notice that does not
// apply to the instance (a Spot notice to an on-demand instance);
// CancelNotice with ErrNotFound.
type Notices interface {
	Notices() []Notice
	FireNotice(fault.Notice) (Notice, error)
	CancelNotice(id string) (Notice, error)
	ClearNotices() int
}

// noticeRoutes adds the notice endpoints when the server has notices.
func (s *Server) noticeRoutes(v1 *mux.Router) {
	if s.opts.Notices == nil {
		return
	}
	v1.Handle("/notices", methods{"GET": s.listNotices, "POST": s.fireNotice, "DELETE": s.clearNotices})
	v1.Handle("/notices/{id}", methods{"DELETE": s.cancelNotice})
}

func (s *Server) listNotices(w http.ResponseWriter, r *http.Request) {
	l := NoticeList{Notices: s.opts.Notices.Notices()}
	if l.Notices == nil {
		l.Notices = []Notice{}
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) fireNotice(w http.ResponseWriter, r *http.Request) {
	var req fault.Notice
	if !decode(w, r, &req) {
		return
	}
	n, err := s.opts.Notices.FireNotice(req)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.opts.Hub.Publish(Event{Type: EventNotice, At: s.now(), Change: "posted", Detail: n})
	writeJSON(w, http.StatusCreated, n)
}

func (s *Server) cancelNotice(w http.ResponseWriter, r *http.Request) {
	n, err := s.opts.Notices.CancelNotice(pathVar(r, "id"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	change := "withdrawn"
	if n.State == "canceled" {
		change = "canceled"
	}
	s.opts.Hub.Publish(Event{Type: EventNotice, At: s.now(), Change: change, Detail: n})
	writeJSON(w, http.StatusOK, n)
}

func (s *Server) clearNotices(w http.ResponseWriter, r *http.Request) {
	c := Removed{Removed: s.opts.Notices.ClearNotices()}
	s.opts.Hub.Publish(Event{Type: EventNotice, At: s.now(), Change: "cleared", Detail: c})
	writeJSON(w, http.StatusOK, c)
}

// WriteNotices writes notices as `imdsemu notice list` shows them: one a
// line, with what the metadata server serves for each.
func WriteNotices(w io.Writer, notices []Notice) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tPOSTED\tDETAIL")
	for _, n := range notices {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.ID, n.Kind, n.Posted.UTC().Format(time.RFC3339), noticeDetail(n))
	}
	return tw.Flush()
}

// WriteNotice writes one notice after what happened to it.
func WriteNotice(w io.Writer, what string, n Notice) error {
	_, err := fmt.Fprintf(w, "%s %s %s: %s\n", what, n.Kind, n.ID, noticeDetail(n))
	return err
}

func noticeDetail(n Notice) string {
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	switch {
	case n.Action != "":
		return n.Action + " at " + ts(n.Time)
	case n.Code != "":
		return fmt.Sprintf("%s %s, %s to %s: %s", n.Code, n.State, ts(n.NotBefore), ts(n.NotAfter), n.Description)
	case n.State != "":
		return "target lifecycle state " + n.State
	}
	return "rebalance recommended"
}
