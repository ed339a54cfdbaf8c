package imds

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// MinECSTokenSize is the shortest authorization token ECSHandler accepts.
const MinECSTokenSize = 16

// ECSHandler returns the container credentials endpoint: the attached
// role's current credentials in the format the ECS agent (and EKS Pod
// Identity) serve and the SDKs' container credential providers read,
//
//	{"AccessKeyId":"ASIA…","SecretAccessKey":"…","Token":"…","Expiration":"2025-06-01T18:00:00Z","RoleArn":"arn:aws:iam::123456789012:role/web"}
//
// on GET (or HEAD) of any path, so that whatever
// AWS_CONTAINER_CREDENTIALS_FULL_URI names works (/v2/credentials/ID by
// convention). Every request must carry an Authorization header equal to
// authToken, which clients send from AWS_CONTAINER_AUTHORIZATION_TOKEN:
// without one the answer is 401, with another 403. Errors are JSON
// {"code":"…","message":"…"}, which aws-sdk-go-v2's endpointcreds reports
// as the API error.
//
// Serve it on its own listener, never on the metadata one. It shares the
// server's CredentialSource and OnCredentialsServed (Version "ecs"), and
// counts in imdsemu_imds_requests_total with route and version "ecs". The
// metadata switches (tokens, endpoint disabled, throttle, hop limit) do not
// apply to it.
func (s *Server) ECSHandler(authToken string) (http.Handler, error) {
	if len(authToken) < MinECSTokenSize {
		return nil, errors.New("imds: the ECS authorization token must be at least 16 characters")
	}
	return &ecsHandler{s: s, token: []byte(authToken)}, nil
}

type ecsHandler struct {
	s        *Server
	token    []byte
	counters counterSet
}

func (h *ecsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, reason := h.serve(w, r)
	h.s.observe(r, &h.counters, routeECS, versionECS, code, reason)
}

func (h *ecsHandler) serve(w http.ResponseWriter, r *http.Request) (int, string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = headerAllowMetadata
		return writeECSError(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET"), "method not allowed"
	}
	auth := r.Header.Values("Authorization")
	if len(auth) == 0 || auth[0] == "" {
		return writeECSError(w, r, http.StatusUnauthorized, "AccessDeniedException",
			"the Authorization header is missing: set AWS_CONTAINER_AUTHORIZATION_TOKEN to the token imdsemu printed (also in its data directory, ecs-auth.token)"), "no authorization"
	}
	if subtle.ConstantTimeCompare([]byte(auth[0]), h.token) != 1 {
		return writeECSError(w, r, http.StatusForbidden, "AccessDeniedException",
			"the Authorization header does not match this imdsemu's token (ecs-auth.token in its data directory)"), "bad authorization"
	}
	a, ok := h.s.current()
	if !ok {
		return writeECSError(w, r, http.StatusNotFound, "NotFound", "no role is attached to the instance profile"), "no role"
	}
	if e := a.Error; e != nil {
		// EC2 serves such errors as 200 documents; a container endpoint has
		// only its status to say the credentials are not there.
		return writeECSError(w, r, http.StatusBadRequest, e.Code, e.Message), e.Code
	}
	c := &a.Credentials
	roleARN := a.RoleARN
	if roleARN == "" {
		roleARN = "arn:aws:iam::" + accountOf(a.ProfileARN, h.s.inst.AccountID) + ":role/" + a.Role
	}
	b := make([]byte, 0, 128+len(c.AccessKeyID)+len(c.SecretAccessKey)+len(c.SessionToken)+len(roleARN))
	b = append(b, `{"AccessKeyId":`...)
	b = appendJSONString(b, c.AccessKeyID)
	b = append(b, `,"SecretAccessKey":`...)
	b = appendJSONString(b, c.SecretAccessKey)
	b = append(b, `,"Token":`...)
	b = appendJSONString(b, c.SessionToken)
	b = append(b, `,"Expiration":"`...)
	b = appendTimestamp(b, c.Expires)
	b = append(b, `","RoleArn":`...)
	b = appendJSONString(b, roleARN)
	b = append(b, '}')
	code := writeBody(w, r, http.StatusOK, headerJSON, b)
	h.s.served(r, versionECS, a.Role, c)
	return code, ""
}

func writeECSError(w http.ResponseWriter, r *http.Request, status int, code, msg string) int {
	b := append([]byte(`{"code":`), appendJSONString(nil, code)...)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, strings.TrimSpace(msg))
	return writeBody(w, r, status, headerJSON, append(b, '}'))
}
