package admin

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/imdsemu/imdsemu/audit"
)

// Auditor runs the security audit over the IAM model and what the server
// saw (key use, IMDSv1 calls); cmd adapts package audit to it.
type Auditor interface {
	Audit(ctx context.Context) (audit.Report, error)
}

// auditRoutes adds GET /v1/audit when the server has an Auditor.
func (s *Server) auditRoutes(v1 *mux.Router) {
	if s.opts.Auditor == nil {
		return
	}
	v1.Handle("/audit", methods{"GET": s.getAudit})
}

// getAudit answers the findings, worst first (audit.Report).
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request) {
	rep, err := s.opts.Auditor.Audit(r.Context())
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// Audit runs the security audit on the server (GET /v1/audit).
func (c *Client) Audit(ctx context.Context) (audit.Report, error) {
	var rep audit.Report
	err := c.do(ctx, http.MethodGet, "/v1/audit", nil, &rep)
	return rep, err
}
