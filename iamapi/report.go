package iamapi

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"time"

	"github.com/imdsemu/imdsemu/rolestore"
)

// The credential report, as IAM writes it (IAM User Guide, "Getting
// credential reports for your AWS account"): one CSV row for the root user
// and one per IAM user, with these columns in this order.
var reportColumns = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
	"password_next_rotation", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date", "access_key_2_last_used_region", "access_key_2_last_used_service",
	"cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
}

// reportMaxAge is how long IAM serves a report before GenerateCredentialReport
// makes a new one: four hours.
const reportMaxAge = 4 * time.Hour

// credentialReport is a generated report: its CSV and when it was made.
type credentialReport struct {
	csv       []byte
	generated time.Time
}

func reportTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// buildReport writes the account's credential report. imdsemu's users have
// no console passwords or signing certificates: those columns say so as IAM
// does ("not_supported" for the root user's password, "N/A" where there is
// nothing). A key's last use is what STS saw since the server started.
func (s *Server) buildReport(rc *request) ([]byte, *Error) {
	acct := rc.account()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(reportColumns)

	rootKeys, err := s.store.AccessKeys(rc.ctx, acct, "")
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	rootMFA, err := s.store.MFADevices(rc.ctx, acct, "")
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	root := []string{"<root_account>", rolestore.RootARN(acct), "N/A", "not_supported", "no_information", "not_supported", "not_supported", boolText(len(rootMFA) > 0)}
	_ = w.Write(append(append(root, s.keyColumns(rootKeys)...), "false", "N/A", "false", "N/A"))

	users, err := s.store.Users(rc.ctx, acct)
	if err != nil {
		return nil, s.storeError(rc, err, "")
	}
	for _, u := range users {
		keys, err := s.store.AccessKeys(rc.ctx, acct, u.Name)
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		mfa, err := s.store.MFADevices(rc.ctx, acct, u.Name)
		if err != nil {
			return nil, s.storeError(rc, err, "")
		}
		row := []string{u.Name, u.ARN(), reportTime(u.CreatedAt), "false", "N/A", "N/A", "N/A", boolText(len(mfa) > 0)}
		_ = w.Write(append(append(row, s.keyColumns(keys)...), "false", "N/A", "false", "N/A"))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		s.log.Error("iam: writing the credential report", "err", err)
		return nil, errInternal()
	}
	return buf.Bytes(), nil
}

// keyColumns are the ten access_key_N_* columns of two keys (oldest
// first): active, last rotated (created), last used date, region, service.
func (s *Server) keyColumns(keys []rolestore.AccessKey) []string {
	var out []string
	for i := range 2 {
		if i >= len(keys) {
			out = append(out, "false", "N/A", "N/A", "N/A", "N/A")
			continue
		}
		k := keys[i]
		used, service, region := "N/A", "N/A", "N/A"
		if at, svc, reg, ok := s.lastUse(k.ID); ok {
			used, service, region = reportTime(at), svc, reg
		}
		out = append(out, boolText(k.Status == rolestore.AccessKeyActive), reportTime(k.CreatedAt), used, region, service)
	}
	return out
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

type generateCredentialReportResult struct {
	State       string `xml:"State"`
	Description string `xml:"Description"`
}

// generateCredentialReport makes the account's report when there is none
// or it is older than four hours. The report is made at once, so the state
// is STARTED for the call that made it (as IAM answers the first call) and
// COMPLETE after.
func (s *Server) generateCredentialReport(rc *request) (any, *Error) {
	if e := s.authorize(rc, "iam:GenerateCredentialReport", "*"); e != nil {
		return nil, e
	}
	now := s.now()
	s.reportMu.Lock()
	r, ok := s.reports[rc.account()]
	s.reportMu.Unlock()
	if ok && now.Sub(r.generated) < reportMaxAge {
		return generateCredentialReportResult{State: "COMPLETE"}, nil
	}
	b, e := s.buildReport(rc)
	if e != nil {
		return nil, e
	}
	s.reportMu.Lock()
	s.reports[rc.account()] = credentialReport{csv: b, generated: now}
	s.reportMu.Unlock()
	return generateCredentialReportResult{State: "STARTED", Description: "No report exists. Starting a new report generation task"}, nil
}

type getCredentialReportResult struct {
	Content       string `xml:"Content"`
	ReportFormat  string `xml:"ReportFormat"`
	GeneratedTime string `xml:"GeneratedTime"`
}

func (s *Server) getCredentialReport(rc *request) (any, *Error) {
	if e := s.authorize(rc, "iam:GetCredentialReport", "*"); e != nil {
		return nil, e
	}
	s.reportMu.Lock()
	r, ok := s.reports[rc.account()]
	s.reportMu.Unlock()
	switch {
	case !ok:
		return nil, newError(CodeReportNotPresent, http.StatusGone, "Credential report not present. Call GenerateCredentialReport to generate one.")
	case s.now().Sub(r.generated) >= reportMaxAge:
		return nil, newError("ReportExpired", http.StatusGone, "Credential report is older than 4 hours. Call GenerateCredentialReport for a new one.")
	}
	return getCredentialReportResult{Content: base64.StdEncoding.EncodeToString(r.csv), ReportFormat: "text/csv", GeneratedTime: isoTime(r.generated)}, nil
}
