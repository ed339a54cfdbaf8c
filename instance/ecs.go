package instance

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// ECSRolePrefix is the path under which an ECS endpoint serves each role's
// credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI=http://HOST:PORT/role/NAME.
const ECSRolePrefix = "/role/"

// ECSByRole routes the container credentials endpoint by path, so that
// each container names its role in AWS_CONTAINER_CREDENTIALS_FULL_URI:
// GET /role/NAME is answered by the ECS handler (imds.Server.ECSHandler)
// of the instance whose instance profile holds role NAME, found by byRole
// at request time (attachments change); every other path by fallback (the
// default instance's ECS handler), or, when fallback is nil, with 404.
// token is the endpoint's authorization token: a request without it is
// passed to an ECS handler (which answers 401 or 403), so nobody learns
// which roles exist without the token.
func ECSByRole(token string, byRole func(role string) (http.Handler, bool), fallback http.Handler) http.Handler {
	return &ecsRouter{token: []byte(token), byRole: byRole, fallback: fallback}
}

type ecsRouter struct {
	token    []byte
	byRole   func(string) (http.Handler, bool)
	fallback http.Handler
}

func (e *ecsRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	role, isRole := strings.CutPrefix(r.URL.Path, ECSRolePrefix)
	if isRole {
		if h, ok := e.byRole(role); ok && role != "" {
			h.ServeHTTP(w, r)
			return
		}
	} else if e.fallback != nil {
		e.fallback.ServeHTTP(w, r)
		return
	}
	auth := r.Header.Values("Authorization")
	if len(auth) == 0 || subtle.ConstantTimeCompare([]byte(auth[0]), e.token) != 1 {
		switch {
		case e.fallback != nil:
			e.fallback.ServeHTTP(w, r) // 401 or 403
		case len(auth) == 0 || auth[0] == "":
			writeECSError(w, http.StatusUnauthorized, "AccessDeniedException", "the Authorization header is missing: set AWS_CONTAINER_AUTHORIZATION_TOKEN to the token imdsemu printed (also in its data directory, ecs-auth.token)")
		default:
			writeECSError(w, http.StatusForbidden, "AccessDeniedException", "the Authorization header does not match this imdsemu's token (ecs-auth.token in its data directory)")
		}
		return
	}
	if isRole {
		writeECSError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no instance's profile holds role %.128q", role))
		return
	}
	writeECSError(w, http.StatusNotFound, "NotFound", "no default instance: ask for a role's credentials at /role/NAME")
}

func writeECSError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, msg}) // strings always marshal
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
