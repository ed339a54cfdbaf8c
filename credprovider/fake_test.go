package credprovider

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing/synctest"
	"time"
)

// Fake secrets: test output never prints them anyway.
const (
	secretA = "fakeSecretAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	secretB = "fakeSecretBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
	tokenA  = "fakeTokenAAAA"
)

// fakeIMDS is an in-memory metadata service behind the HTTPDoer interface,
// so models run inside synctest bubbles without sockets.
type fakeIMDS struct {
	mu          sync.Mutex
	key         string    // AccessKeyId served
	expires     time.Time // zero: no Expiration field
	down        bool      // every request fails as a refused connection
	tokenStatus int       // non-zero: the token PUT answers this status
	tokenErr    error     // non-nil: the token PUT fails with this
	getStatus   int       // non-zero: GETs answer this status
	log         []string  // "PUT /latest/api/token", "GET v2 /path", "GET v1 /path"
}

func newFakeIMDS(key string, expires time.Time) *fakeIMDS {
	return &fakeIMDS{key: key, expires: expires}
}

func (f *fakeIMDS) serve(key string, expires time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.key, f.expires = key, expires
}

func (f *fakeIMDS) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// requests returns and clears the request log.
func (f *fakeIMDS) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.log
	f.log = nil
	return out
}

type refusedError struct{}

func (refusedError) Error() string   { return "dial tcp 127.0.0.1:1338: connect: connection refused" }
func (refusedError) Timeout() bool   { return false }
func (refusedError) Temporary() bool { return false }

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func (f *fakeIMDS) Do(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := req.URL.Path
	if req.Method == http.MethodPut {
		f.log = append(f.log, "PUT "+path+" ttl="+req.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
	} else {
		v := "v1"
		if req.Header.Get("X-Aws-Ec2-Metadata-Token") != "" {
			v = "v2"
		}
		f.log = append(f.log, "GET "+v+" "+path)
	}
	switch {
	case f.down:
		return nil, refusedError{}
	case req.Method == http.MethodPut && f.tokenErr != nil:
		return nil, f.tokenErr
	case req.Method == http.MethodPut && f.tokenStatus != 0:
		return answer(f.tokenStatus, ""), nil
	case req.Method == http.MethodPut:
		return answer(200, "AQAEAfakeToken"), nil
	case f.getStatus != 0:
		return answer(f.getStatus, ""), nil
	case path == securityCredentialsPath:
		return answer(200, "web-role"), nil
	case path == securityCredentialsPath+"web-role":
		exp := ""
		if !f.expires.IsZero() {
			exp = fmt.Sprintf(`,"Expiration":%q`, f.expires.UTC().Format(time.RFC3339))
		}
		return answer(200, fmt.Sprintf(`{"Code":"Success","AccessKeyId":%q,"SecretAccessKey":%q,"Token":"tok"%s}`, f.key, secretA, exp)), nil
	}
	return answer(404, ""), nil
}

func answer(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body)), Header: http.Header{}}
}

// zeroJitter pins every random draw to its lowest value.
func zeroJitter(int64) int64 { return 0 }

// sleep advances a synctest bubble's clock by d and lets every goroutine
// woken at that instant (the models' deadline timers) run before the test
// goes on.
func sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}
