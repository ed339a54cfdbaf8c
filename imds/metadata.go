package imds

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Routes of the notices and of the tree's top. Like the rest, the
// templates are the route label of imdsemu_imds_requests_total.
const (
	routeRoot            = "/"
	routeEvents          = "/latest/meta-data/events"
	routeMaintenance     = "/latest/meta-data/events/maintenance"
	routeScheduled       = "/latest/meta-data/events/maintenance/scheduled"
	routeHistory         = "/latest/meta-data/events/maintenance/history"
	routeRecommendations = "/latest/meta-data/events/recommendations"
	routeRebalance       = "/latest/meta-data/events/recommendations/rebalance"
	routeSpot            = "/latest/meta-data/spot"
	routeSpotAction      = "/latest/meta-data/spot/instance-action"
	routeTerminationTime = "/latest/meta-data/spot/termination-time"
	routeAutoscaling     = "/latest/meta-data/autoscaling"
	routeLifecycleState  = "/latest/meta-data/autoscaling/target-lifecycle-state"
)

// Notices are the instance's notices, which the metadata tree serves.
func (s *Server) Notices() *Notices { return s.notices }

// canonicalPath is the path a request is routed by: runs of slashes
// collapsed to one (AWS's own ec2-metadata asks for
// latest//meta-data/reservation-id), one trailing slash removed (a leaf
// asked with a slash is the leaf, as botocore asks for
// placement/availability-zone/; a directory without one is the
// directory), and a dated version's tree read as latest's: every version
// GET / lists serves the same tree. PUT /VERSION/api/token keeps its
// version, to be refused.
func canonicalPath(p string) string {
	if strings.Contains(p, "//") {
		b := make([]byte, 0, len(p))
		for i := 0; i < len(p); i++ {
			if p[i] != '/' || len(b) == 0 || b[len(b)-1] != '/' {
				b = append(b, p[i])
			}
		}
		p = string(b)
	}
	if len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	if len(p) < 2 || p[1] < '0' || p[1] > '9' {
		return p // the fast path: /latest/…
	}
	version, rest, _ := strings.Cut(p[1:], "/")
	if _, ok := slices.BinarySearch(versions[:], version); !ok || rest == "api/token" {
		return p
	}
	if rest == "" {
		return "/latest"
	}
	return "/latest/" + rest
}

func (s *Server) metadataRoutes(handle func(string, kind, serveFunc)) {
	static := func(route string, body []byte) {
		handle(route, kindMetadata, func(w http.ResponseWriter, r *http.Request, _ string) int {
			return writeText(w, r, body)
		})
	}
	// optional serves body(), or 404 when it is empty.
	optional := func(route string, body func() []byte) {
		handle(route, kindMetadata, func(w http.ResponseWriter, r *http.Request, _ string) int {
			b := body()
			if len(b) == 0 {
				return writeError(w, r, http.StatusNotFound)
			}
			return writeText(w, r, b)
		})
	}
	b := &s.bodies
	n := s.notices
	static(routeRoot, b.root)
	static(routeLatest, b.latest)
	handle(routeUserData, kindMetadata, s.serveUserData)
	handle(routeMetaData, kindMetadata, s.serveMetaData)
	for _, p := range slices.Sorted(maps.Keys(b.static)) {
		static(p, b.static[p])
	}
	handle(routeTags, kindMetadata, s.serveTags)
	handle(routeTagsInstance, kindMetadata, s.serveTags)
	handle(routeTag, kindMetadata, s.serveTags)
	static(routeIdentity, b.identity)
	static(routeIdentityDocument, b.identityDocument)
	optional(routeIdentityPKCS7, func() []byte { return b.pkcs7 })
	optional(routeIdentityRSA2048, func() []byte { return b.rsa2048 })
	optional(routeIdentitySignature, func() []byte { return b.signature })

	// Notices.
	optional(routeEvents, func() []byte {
		if n.rebalancePosted() {
			return listing("maintenance/", "recommendations/")
		}
		return listing("maintenance/")
	})
	static(routeMaintenance, listing("history", "scheduled"))
	optional(routeScheduled, func() []byte { return n.maintenance(false) })
	optional(routeHistory, func() []byte { return n.maintenance(true) })
	optional(routeRecommendations, func() []byte {
		if n.rebalancePosted() {
			return listing("rebalance")
		}
		return nil
	})
	optional(routeRebalance, n.rebalance)
	optional(routeSpot, func() []byte {
		switch {
		case !n.spotPosted():
			return nil
		case len(n.terminationTime()) > 0:
			return listing("instance-action", "termination-time")
		}
		return listing("instance-action")
	})
	optional(routeSpotAction, n.spotAction)
	optional(routeTerminationTime, n.terminationTime)
	if s.inst.AutoScaling {
		static(routeAutoscaling, listing("target-lifecycle-state"))
		optional(routeLifecycleState, func() []byte { return []byte(n.lifecycleState()) })
	}
}

// serveMetaData lists /latest/meta-data/, with iam/ only while a role is
// attached, identity-credentials/ while there are identity credentials,
// tags/ while instance metadata tags are on and spot/ while a Spot
// interruption is posted (EC2 User Guide, "Instance metadata categories").
func (s *Server) serveMetaData(w http.ResponseWriter, r *http.Request, _ string) int {
	flags := 0
	if _, ok := s.current(); ok {
		flags |= metaIAM
	}
	if _, ok := s.currentIdentity(); ok {
		flags |= metaIdentity
	}
	if s.tags.Load() {
		flags |= metaTags
	}
	if s.notices.spotPosted() {
		flags |= metaSpot
	}
	return writeText(w, r, s.bodies.metaData[flags])
}

// serveUserData answers /latest/user-data: the bytes as given, as
// application/octet-stream (as in captures from real instances), or 404
// when the instance has none.
func (s *Server) serveUserData(w http.ResponseWriter, r *http.Request, _ string) int {
	if len(s.inst.UserData) == 0 {
		return writeError(w, r, http.StatusNotFound)
	}
	return writeBody(w, r, http.StatusOK, headerOctetStream, s.inst.UserData)
}

const tagsPrefix = "/latest/meta-data/tags/instance/"

// serveTags answers tags/, tags/instance/ (the keys, sorted) and
// tags/instance/KEY (the value) while instance metadata tags are on.
func (s *Server) serveTags(w http.ResponseWriter, r *http.Request, _ string) int {
	if !s.tags.Load() {
		return writeError(w, r, http.StatusNotFound)
	}
	switch p := r.URL.Path; {
	case p == routeTags:
		return writeText(w, r, s.bodies.tags)
	case p == routeTagsInstance:
		return writeText(w, r, s.bodies.tagKeys)
	default:
		v, ok := s.inst.Tags[strings.TrimPrefix(p, tagsPrefix)]
		if !ok {
			return writeError(w, r, http.StatusNotFound)
		}
		return writeText(w, r, []byte(v))
	}
}

// timestampLayout is the IMDS timestamp: UTC, whole seconds, a literal Z.
// botocore parses Expiration with exactly this strptime format.
const timestampLayout = "2006-01-02T15:04:05Z"

func appendTimestamp(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, timestampLayout)
}

// appendJSONString appends s as a JSON string. The fast path covers the
// printable ASCII that keys, tokens and ids are made of.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
