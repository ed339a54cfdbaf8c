package imds

import (
	"encoding/json"
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

func (t *Routes) metadataRoutes() {
	t.fixed(routeRoot, listing(append(Versions(), "latest")...))
	latest, latestUserData := listing("dynamic", "meta-data"), listing("dynamic", "meta-data", "user-data")
	t.metadata(routeLatest, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) int {
		if len(s.userData) > 0 {
			return writeText(w, r, latestUserData)
		}
		return writeText(w, r, latest)
	})
	t.metadata(routeUserData, (*Server).serveUserData)
	t.metadata(routeMetaData, (*Server).serveMetaData)
	t.metadata(routeTags, (*Server).serveTags)
	t.metadata(routeTagsInstance, (*Server).serveTags)
	t.metadata(routeTag, (*Server).serveTags)
	unsigned, signed := listing("document"), listing("document", "pkcs7", "rsa2048", "signature")
	t.metadata(routeIdentity, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) int {
		if s.key != nil {
			return writeText(w, r, signed)
		}
		return writeText(w, r, unsigned)
	})
	t.metadata(routeIdentityDocument, func(s *Server, w http.ResponseWriter, r *http.Request, _ string) int {
		return writeText(w, r, s.docs().identityDocument)
	})
	t.metadata(routeIdentityPKCS7, (*Server).serveSigned)
	t.metadata(routeIdentityRSA2048, (*Server).serveSigned)
	t.metadata(routeIdentitySignature, (*Server).serveSigned)

	// Notices.
	maintenance, both := listing("maintenance/"), listing("maintenance/", "recommendations/")
	t.optional(routeEvents, func(s *Server) []byte {
		if s.notices.rebalancePosted() {
			return both
		}
		return maintenance
	})
	t.fixed(routeMaintenance, listing("history", "scheduled"))
	t.optional(routeScheduled, func(s *Server) []byte { return s.notices.maintenance(false) })
	t.optional(routeHistory, func(s *Server) []byte { return s.notices.maintenance(true) })
	rebalance := listing("rebalance")
	t.optional(routeRecommendations, func(s *Server) []byte {
		if s.notices.rebalancePosted() {
			return rebalance
		}
		return nil
	})
	t.optional(routeRebalance, func(s *Server) []byte { return s.notices.rebalance() })
	action, actionTime := listing("instance-action"), listing("instance-action", "termination-time")
	t.optional(routeSpot, func(s *Server) []byte {
		switch n := s.notices; {
		case !n.spotPosted():
			return nil
		case len(n.terminationTime()) > 0:
			return actionTime
		}
		return action
	})
	t.optional(routeSpotAction, func(s *Server) []byte { return s.notices.spotAction() })
	t.optional(routeTerminationTime, func(s *Server) []byte { return s.notices.terminationTime() })
	inASG := func(s *Server) bool { return s.inst.AutoScaling }
	lifecycle := listing("target-lifecycle-state")
	t.fixed(routeAutoscaling, lifecycle).present = inASG
	t.optional(routeLifecycleState, func(s *Server) []byte { return []byte(s.notices.lifecycleState()) }).present = inASG
}

// serveStatic answers a fixed leaf or listing of the instance's tree.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request, _ string) int {
	return writeText(w, r, s.docs().static[r.URL.Path])
}

// serveMetaData lists /latest/meta-data/, with iam/ only while a role is
// attached, identity-credentials/ when the server has identity credentials
// (minted or not),
// tags/ while instance metadata tags are on and spot/ while a Spot
// interruption is posted (EC2 User Guide, "Instance metadata categories").
func (s *Server) serveMetaData(w http.ResponseWriter, r *http.Request, _ string) int {
	flags := 0
	if _, ok := s.current(); ok {
		flags |= metaIAM
	}
	if s.identity != nil {
		flags |= metaIdentity
	}
	if s.on(switchTags) {
		flags |= metaTags
	}
	if s.notices.spotPosted() {
		flags |= metaSpot
	}
	return writeText(w, r, s.docs().metaDataListing(flags))
}

// serveUserData answers /latest/user-data: the bytes as given, as
// application/octet-stream (as in captures from real instances), or 404
// when the instance has none.
func (s *Server) serveUserData(w http.ResponseWriter, r *http.Request, _ string) int {
	if len(s.userData) == 0 {
		return writeError(w, r, http.StatusNotFound)
	}
	return writeBody(w, r, http.StatusOK, headerOctetStream, s.userData)
}

const tagsPrefix = "/latest/meta-data/tags/instance/"

// tagsListing is tags/. Immutable.
var tagsListing = listing("instance/")

// serveTags answers tags/, tags/instance/ (the keys, sorted) and
// tags/instance/KEY (the value) while instance metadata tags are on.
func (s *Server) serveTags(w http.ResponseWriter, r *http.Request, _ string) int {
	if !s.on(switchTags) {
		return writeError(w, r, http.StatusNotFound)
	}
	switch p := r.URL.Path; {
	case p == routeTags:
		return writeText(w, r, tagsListing)
	case p == routeTagsInstance:
		return writeText(w, r, s.docs().tagKeys)
	default:
		v, ok := s.tags[strings.TrimPrefix(p, tagsPrefix)]
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
