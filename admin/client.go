package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/fault"
)

// maxAnswer caps an answer the Client reads.
const maxAnswer = 16 << 20

// ClientOptions configure a Client. The zero value is usable.
type ClientOptions struct {
	// HTTPClient sends the requests. Default: a new http.Client.
	HTTPClient *http.Client
	// Timeout bounds each request but the event stream; 0 means only the
	// caller's context does.
	Timeout time.Duration
	// OnAnswer, when set, receives the body of every successful answer
	// exactly as the server sent it (the event stream excepted): the
	// `imdsemu --json` flag prints it.
	OnAnswer func(body []byte)
}

// Client calls the control API of a running `imdsemu serve`, with one typed
// method per endpoint. An error answer is returned as an *Error. Safe for
// concurrent use.
type Client struct {
	base  string
	token string
	opts  ClientOptions
}

// NewClient returns a Client for the admin listener at addr (host:port or
// an http:// URL) that authenticates with token.
func NewClient(addr, token string, opts ClientOptions) (*Client, error) {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("admin: address %q: want host:port or an http:// URL", addr)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	return &Client{base: strings.TrimSuffix(u.String(), "/"), token: token, opts: opts}, nil
}

// BaseURL is the URL the paths of the API are appended to.
func (c *Client) BaseURL() string { return c.base }

// Error is an error answer of the control API.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code names the kind of error (CodeNotFound, CodeInvalid, …); it
	// follows from Status.
	Code string
	// Message is the API's "error" text.
	Message string
	// Fields lists each invalid field of a rejected body.
	Fields []FieldError
}

// Error codes of Error.Code.
const (
	CodeInvalid      = "invalid"            // 400
	CodeUnauthorized = "unauthorized"       // 401
	CodeNotFound     = "not_found"          // 404
	CodeMethod       = "method_not_allowed" // 405
	CodeConflict     = "conflict"           // 409
	CodeMintFailed   = "mint_failed"        // 502: rotate?wait=true
	CodeUnavailable  = "unavailable"        // 503: shutting down
	CodeInternal     = "internal"           // any other status
)

func codeOf(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeInvalid
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethod
	case http.StatusConflict:
		return CodeConflict
	case http.StatusBadGateway:
		return CodeMintFailed
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	return CodeInternal
}

// Error reads "409 Conflict: rotation of … is frozen; unfreeze it first".
func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Unwrap makes errors.Is(err, ErrNotFound), ErrInvalid and ErrConflict
// true for the matching answers.
func (e *Error) Unwrap() error {
	switch e.Code {
	case CodeNotFound:
		return ErrNotFound
	case CodeInvalid:
		return ErrInvalid
	case CodeConflict:
		return ErrConflict
	}
	return nil
}

// send sends one request and returns the answer of a 2xx status, or the
// error.
func (c *Client) send(ctx context.Context, method, path string, in any, accept string) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("admin: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", accept)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("control API at %s: %w (is `imdsemu serve` running there?)", c.base, err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	var eb ErrorBody
	if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
		eb = ErrorBody{Error: strings.TrimSpace(string(data))}
	}
	return nil, &Error{Status: resp.StatusCode, Code: codeOf(resp.StatusCode), Message: eb.Error, Fields: eb.Fields}
}

// do sends one request; out, when not nil, receives the decoded answer.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	if c.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
	}
	resp, err := c.send(ctx, method, path, in, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("admin: %s %s: %w", method, path, err)
	}
	if c.opts.OnAnswer != nil && len(data) > 0 {
		c.opts.OnAnswer(data)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("admin: %s %s: %w", method, path, err)
		}
	}
	return nil
}

func profilePath(profile string) string { return "/v1/profiles/" + url.PathEscape(profile) }

// Options returns the metadata options.
func (c *Client) Options(ctx context.Context) (MetadataOptions, error) {
	var o MetadataOptions
	err := c.do(ctx, http.MethodGet, "/v1/options", nil, &o)
	return o, err
}

// PatchOptions changes the options p sets, all or none, and returns them
// all.
func (c *Client) PatchOptions(ctx context.Context, p MetadataPatch) (MetadataOptions, error) {
	var o MetadataOptions
	err := c.do(ctx, http.MethodPatch, "/v1/options", p, &o)
	return o, err
}

// Faults lists the active fault rules.
func (c *Client) Faults(ctx context.Context) ([]fault.Status, error) {
	var l FaultList
	err := c.do(ctx, http.MethodGet, "/v1/faults", nil, &l)
	return l.Faults, err
}

// Fault returns one active rule.
func (c *Client) Fault(ctx context.Context, id string) (fault.Status, error) {
	var st fault.Status
	err := c.do(ctx, http.MethodGet, "/v1/faults/"+url.PathEscape(id), nil, &st)
	return st, err
}

// AddFault adds a rule (its ID left empty) and returns it with its ID.
func (c *Client) AddFault(ctx context.Context, r fault.Rule) (fault.Status, error) {
	var st fault.Status
	err := c.do(ctx, http.MethodPost, "/v1/faults", r, &st)
	return st, err
}

// RemoveFault removes a rule.
func (c *Client) RemoveFault(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/faults/"+url.PathEscape(id), nil, nil)
}

// ClearFaults removes every rule and returns how many there were.
func (c *Client) ClearFaults(ctx context.Context) (int, error) {
	var r Removed
	err := c.do(ctx, http.MethodDelete, "/v1/faults", nil, &r)
	return r.Removed, err
}

// Scenarios lists the defined scenarios.
func (c *Client) Scenarios(ctx context.Context) ([]fault.ScenarioStatus, error) {
	var l ScenarioList
	err := c.do(ctx, http.MethodGet, "/v1/scenarios", nil, &l)
	return l.Scenarios, err
}

// Scenario returns one scenario.
func (c *Client) Scenario(ctx context.Context, name string) (fault.ScenarioStatus, error) {
	var st fault.ScenarioStatus
	err := c.do(ctx, http.MethodGet, "/v1/scenarios/"+url.PathEscape(name), nil, &st)
	return st, err
}

// DefineScenario defines or replaces the scenario s.Name.
func (c *Client) DefineScenario(ctx context.Context, s fault.Scenario) (fault.ScenarioStatus, error) {
	var st fault.ScenarioStatus
	err := c.do(ctx, http.MethodPut, "/v1/scenarios/"+url.PathEscape(s.Name), s, &st)
	return st, err
}

// StartScenario starts a scenario, again from its beginning if it runs.
func (c *Client) StartScenario(ctx context.Context, name string) (fault.ScenarioStatus, error) {
	var st fault.ScenarioStatus
	err := c.do(ctx, http.MethodPost, "/v1/scenarios/"+url.PathEscape(name)+"/start", nil, &st)
	return st, err
}

// StopScenario stops a scenario and ends the rules it added.
func (c *Client) StopScenario(ctx context.Context, name string) (fault.ScenarioStatus, error) {
	var st fault.ScenarioStatus
	err := c.do(ctx, http.MethodPost, "/v1/scenarios/"+url.PathEscape(name)+"/stop", nil, &st)
	return st, err
}

// Profiles lists the instance profiles.
func (c *Client) Profiles(ctx context.Context) ([]Profile, error) {
	var l ProfileList
	err := c.do(ctx, http.MethodGet, "/v1/profiles", nil, &l)
	return l.Profiles, err
}

// Profile returns one instance profile, given by name or ARN.
func (c *Client) Profile(ctx context.Context, profile string) (Profile, error) {
	var p Profile
	err := c.do(ctx, http.MethodGet, profilePath(profile), nil, &p)
	return p, err
}

// Rotate mints the profile's next generation now. With wait it waits (on
// the server, up to its RotateWait) for the new generation.
func (c *Client) Rotate(ctx context.Context, profile string, wait bool) (RotateResult, error) {
	path := profilePath(profile) + "/rotate"
	if wait {
		path += "?wait=true"
	}
	var r RotateResult
	err := c.do(ctx, http.MethodPost, path, nil, &r)
	return r, err
}

// Freeze stops (frozen) or resumes rotation of the profile's credentials.
func (c *Client) Freeze(ctx context.Context, profile string, frozen bool) (Profile, error) {
	method := http.MethodPut
	if !frozen {
		method = http.MethodDelete
	}
	var p Profile
	err := c.do(ctx, method, profilePath(profile)+"/freeze", nil, &p)
	return p, err
}

// Generations lists the recent credential generations of one profile, or
// of every profile when profile is "".
func (c *Client) Generations(ctx context.Context, profile string) ([]GenerationInfo, error) {
	path := "/v1/generations"
	if profile != "" {
		path = profilePath(profile) + "/generations"
	}
	var l GenerationList
	err := c.do(ctx, http.MethodGet, path, nil, &l)
	return l.Generations, err
}

// Attachment returns the instance's profile and its role.
func (c *Client) Attachment(ctx context.Context) (Attachment, error) {
	var a Attachment
	err := c.do(ctx, http.MethodGet, "/v1/attachment", nil, &a)
	return a, err
}

// Attach puts role in the instance's profile.
func (c *Client) Attach(ctx context.Context, role string) (Attachment, error) {
	var a Attachment
	err := c.do(ctx, http.MethodPut, "/v1/attachment", AttachRequest{Role: role}, &a)
	return a, err
}

// Detach removes the role from the instance's profile.
func (c *Client) Detach(ctx context.Context) (Attachment, error) {
	var a Attachment
	err := c.do(ctx, http.MethodDelete, "/v1/attachment", nil, &a)
	return a, err
}

// EventDropped is the type of the last event of a stream the server ended
// because its reader fell too far behind; Error says so.
const EventDropped = "dropped"

// Events opens the event stream, keeping only the given types (all when
// none). The stream is open when Events returns; it ends when ctx ends,
// the stream is closed, or the server ends it.
func (c *Client) Events(ctx context.Context, types ...string) (*EventStream, error) {
	path := "/v1/events"
	if len(types) > 0 {
		path += "?type=" + url.QueryEscape(strings.Join(types, ","))
	}
	resp, err := c.send(ctx, http.MethodGet, path, nil, "text/event-stream")
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &EventStream{ctx: ctx, body: resp.Body, sc: sc}, nil
}

// EventStream reads the server-sent events of GET /v1/events. It is not
// safe for concurrent use.
type EventStream struct {
	ctx  context.Context
	body io.ReadCloser
	sc   *bufio.Scanner
}

// Next returns the next event. Its Detail, when present, is the raw
// json.RawMessage the server sent. At the end of the stream Next returns
// io.EOF, or ctx's error when ctx ended it.
func (s *EventStream) Next() (Event, error) {
	var typ string
	var data []byte
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if data == nil {
				continue // the end of a comment or of an empty block
			}
			ev := Event{Detail: new(json.RawMessage)}
			if err := json.Unmarshal(data, &ev); err != nil {
				return Event{}, fmt.Errorf("admin: event %q: %w", typ, err)
			}
			if ev.Type == "" {
				ev.Type = typ
			}
			if raw := ev.Detail.(*json.RawMessage); len(*raw) == 0 {
				ev.Detail = nil
			} else {
				ev.Detail = *raw
			}
			return ev, nil
		case strings.HasPrefix(line, "event:"):
			typ = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...)
		}
	}
	if s.ctx.Err() != nil {
		return Event{}, s.ctx.Err()
	}
	if err := s.sc.Err(); err != nil {
		return Event{}, fmt.Errorf("admin: event stream: %w", err)
	}
	return Event{}, io.EOF
}

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }

// Notices lists the instance's notices.
func (c *Client) Notices(ctx context.Context) ([]Notice, error) {
	var l NoticeList
	err := c.do(ctx, http.MethodGet, "/v1/notices", nil, &l)
	return l.Notices, err
}

// FireNotice posts a notice to the instance.
func (c *Client) FireNotice(ctx context.Context, n fault.Notice) (Notice, error) {
	var out Notice
	err := c.do(ctx, http.MethodPost, "/v1/notices", n, &out)
	return out, err
}

// CancelNotice withdraws a notice, or cancels a maintenance event.
func (c *Client) CancelNotice(ctx context.Context, id string) (Notice, error) {
	var out Notice
	err := c.do(ctx, http.MethodDelete, "/v1/notices/"+url.PathEscape(id), nil, &out)
	return out, err
}

// ClearNotices withdraws every notice and returns how many there were.
func (c *Client) ClearNotices(ctx context.Context) (int, error) {
	var r Removed
	err := c.do(ctx, http.MethodDelete, "/v1/notices", nil, &r)
	return r.Removed, err
}
