package probes

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// Ready is the first line a probe writes: which SDK it is and the SDK's own
// version string.
type Ready struct {
	Type    string `json:"type"` // "ready"
	SDK     string `json:"sdk"`  // the lane name: go-v2, go-v1, botocore, js-v3, js-v2, ruby
	Version string `json:"version"`
	// Provider names the provider the probe holds when it has a choice
	// (ec2rolecreds, default chain): for reports.
	Provider string `json:"provider,omitempty"`
}

// Request is one line the lab writes to a probe.
type Request struct {
	Op    string `json:"op"` // "retrieve" or "quit"
	ID    int64  `json:"id"`
	Check bool   `json:"check"` // also call STS GetCallerIdentity with the credentials
}

// Sources of a credential, as a probe can tell them.
const (
	SourceCache   = "cache"   // the SDK answered from its cache
	SourceFetch   = "fetch"   // the SDK fetched from IMDS during this call
	SourceUnknown = "unknown" // the probe cannot tell
)

// CheckError is Result.Check when the STS call failed without an AWS error
// code (a connection refused, a timeout); Result.CheckError says why.
const CheckError = "error"

// Result answers one retrieve request.
type Result struct {
	Type        string  `json:"type"` // "result"
	ID          int64   `json:"id"`
	AccessKeyID string  `json:"access_key_id"`
	Expires     string  `json:"expires"` // RFC 3339, the expiry the SDK believes; "" if none
	LatencyMS   float64 `json:"latency_ms"`
	Source      string  `json:"source"` // SourceCache, SourceFetch or SourceUnknown
	// Check is "" when no check was asked for or retrieval failed, "ok" when
	// GetCallerIdentity succeeded, else the AWS error code (ExpiredToken,
	// AccessDenied, InvalidClientTokenId, ...) or CheckError.
	Check      string `json:"check"`
	CheckError string `json:"check_error,omitempty"`
	Error      string `json:"error"` // the retrieval error, "" on success
}

// Retriever gets credentials the way the probe's SDK does and, when check is
// set, uses them against STS. It fills every field of Result but Type and ID.
type Retriever func(ctx context.Context, check bool) Result

// Serve runs the probe protocol: it writes ready, then answers each retrieve
// request read from in with retrieve, each on its own goroutine, until a quit
// request or the end of in. It returns once every request in flight has been
// answered. Lines written to out never interleave. A line that is not a
// request is answered with an error result carrying its id, if any.
func Serve(ctx context.Context, in io.Reader, out io.Writer, ready Ready, retrieve Retriever) error {
	ready.Type = "ready"
	w := &lineWriter{enc: json.NewEncoder(out)}
	if err := w.write(ready); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var req Request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			if err := w.write(Result{Type: "result", Error: fmt.Sprintf("probe: bad request line: %v", err)}); err != nil {
				return err
			}
			continue
		}
		switch req.Op {
		case "quit":
			return nil
		case "retrieve":
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := retrieve(ctx, req.Check)
				res.Type, res.ID = "result", req.ID
				_ = w.write(res) // a closed stdout ends the probe at the next read
			}()
		default:
			if err := w.write(Result{Type: "result", ID: req.ID, Error: fmt.Sprintf("probe: unknown op %q", req.Op)}); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

// lineWriter writes one JSON value per line, one writer at a time.
type lineWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *lineWriter) write(v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(v)
}
