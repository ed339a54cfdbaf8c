package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/internal/pattern"
)

// Control is what a scenario does to the server. The lab's implementation
// speaks the admin API over HTTP for faults and rotation and runs the
// imdsemu store commands (against the server's data directory) for
// identities, keys and revocation.
type Control interface {
	AddFault(ctx context.Context, f Fault) error
	ClearFaults(ctx context.Context) error
	Rotate(ctx context.Context) error
	Revoke(ctx context.Context) error
	// NewKey creates the lab's IAM user if needed and a new access key,
	// written as profile into the credentials file file; it returns the
	// key id.
	NewKey(ctx context.Context, file, profile string) (string, error)
	DeactivateKey(ctx context.Context, id string) error
}

// adminControl is a [Control] over the admin API at base (bearer token)
// and the store commands of the imdsemu binary exe on dataDir.
type adminControl struct {
	base, token string
	exe         string
	dataDir     string
	http        *http.Client
	user        bool // the lab's user exists
}

// LabUser is the IAM user whose keys the profile lane uses.
const LabUser = "imdsemu-lab"

func newAdminControl(base, token, exe, dataDir string) *adminControl {
	return &adminControl{base: strings.TrimRight(base, "/"), token: token, exe: exe, dataDir: dataDir,
		http: &http.Client{Timeout: 40 * time.Second}}
}

// do sends one admin request; out, when non-nil, receives the JSON answer.
func (c *adminControl) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("lab: admin %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		_ = json.Unmarshal(data, &e)
		return fmt.Errorf("lab: admin %s %s: HTTP %d: %s", method, path, resp.StatusCode, e.Error)
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (c *adminControl) AddFault(ctx context.Context, f Fault) error {
	return c.do(ctx, http.MethodPost, "/v1/faults", f, nil)
}

func (c *adminControl) ClearFaults(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/v1/faults", nil, nil)
}

func (c *adminControl) attachment(ctx context.Context) (profile, role string, err error) {
	var a struct{ Profile, Role string }
	if err := c.do(ctx, http.MethodGet, "/v1/attachment", nil, &a); err != nil {
		return "", "", err
	}
	if a.Profile == "" || a.Role == "" {
		return "", "", errors.New("lab: the instance has no instance profile or no role")
	}
	return a.Profile, a.Role, nil
}

func (c *adminControl) Rotate(ctx context.Context) error {
	profile, _, err := c.attachment(ctx)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/v1/profiles/"+url.PathEscape(profile)+"/rotate?wait=true", nil, nil)
}

// store runs an imdsemu store command on the data directory.
func (c *adminControl) store(ctx context.Context, args ...string) (string, error) {
	if c.dataDir == "" {
		return "", errors.New("lab: this action needs the server's data directory (--data-dir)")
	}
	cmd := exec.CommandContext(ctx, c.exe, append(args, "--data-dir", c.dataDir)...)
	cmd.Env = append(os.Environ(), "IMDSEMU_CONFIG=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("lab: imdsemu %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func (c *adminControl) Revoke(ctx context.Context) error {
	_, role, err := c.attachment(ctx)
	if err != nil {
		return err
	}
	_, err = c.store(ctx, "revoke", role)
	return err
}

var keyIDLine = pattern.Lazy(`(?m)^AccessKeyId\s+(\S+)`)

func (c *adminControl) NewKey(ctx context.Context, file, profile string) (string, error) {
	if !c.user {
		if _, err := c.store(ctx, "user", "create", LabUser); err != nil && !strings.Contains(err.Error(), "exists") {
			return "", err
		}
		c.user = true
	}
	out, err := c.store(ctx, "key", "create", LabUser, "--credentials-file", file, "--profile", profile)
	if err != nil {
		return "", err
	}
	m := keyIDLine.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("lab: imdsemu key create printed no key id")
	}
	return m[1], nil
}

func (c *adminControl) DeactivateKey(ctx context.Context, id string) error {
	_, err := c.store(ctx, "key", "deactivate", id)
	return err
}
