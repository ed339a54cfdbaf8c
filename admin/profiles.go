package admin

// The control API's handlers of instance profiles: listing, rotation,
// freezing, generations and the attachment.

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/fault"
)

// Profiles.

func (s *Server) listProfiles(w http.ResponseWriter, r *http.Request) {
	ps, err := s.opts.Profiles.Profiles(r.Context())
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ProfileList{Profiles: ps})
}

// profile resolves the {profile} path variable: an ARN (URL-escaped), or
// a name, which must be unique unless one of the matches is the instance's.
func (s *Server) profile(w http.ResponseWriter, r *http.Request) (Profile, bool) {
	key := pathVar(r, "profile")
	ps, err := s.opts.Profiles.Profiles(r.Context())
	if err != nil {
		s.writeErr(w, r, err)
		return Profile{}, false
	}
	var matches []Profile
	for _, p := range ps {
		if p.ARN == key {
			return p, true
		}
		if strings.EqualFold(p.Name, key) {
			matches = append(matches, p)
		}
	}
	switch len(matches) {
	case 0:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no instance profile %q with a role; GET /v1/profiles lists them", key))
		return Profile{}, false
	case 1:
		return matches[0], true
	}
	for _, p := range matches {
		if p.Instance {
			return p, true
		}
	}
	arns := make([]string, len(matches))
	for i, p := range matches {
		arns[i] = p.ARN
	}
	writeError(w, http.StatusBadRequest, fmt.Sprintf("profile name %q is in several accounts; use one of the ARNs, URL-escaped: %s", key, strings.Join(arns, ", ")))
	return Profile{}, false
}

func (s *Server) getProfile(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.profile(w, r); ok {
		writeJSON(w, http.StatusOK, p)
	}
}

func (s *Server) rotate(w http.ResponseWriter, r *http.Request) {
	p, ok := s.profile(w, r)
	if !ok {
		return
	}
	wait := r.URL.Query().Get("wait")
	if wait != "" && wait != "true" && wait != "false" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("wait must be true or false, got %q", wait))
		return
	}
	var sub *Subscription
	if wait == "true" {
		var err error
		if sub, err = s.opts.Hub.Subscribe(); err != nil {
			writeError(w, http.StatusServiceUnavailable, "shutting down")
			return
		}
		defer sub.Close()
	}
	if err := s.opts.Profiles.RotateNow(p.ARN); err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.log.Info("rotation requested", "profile", p.ARN)
	s.publish("rotate_requested", ProfileChange{Profile: p.ARN})
	if sub == nil {
		writeJSON(w, http.StatusAccepted, RotateResult{Profile: p.ARN, Status: RotationRequested})
		return
	}
	timer := time.NewTimer(s.opts.RotateWait)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				writeJSON(w, http.StatusAccepted, RotateResult{Profile: p.ARN, Status: RotationRequested})
				return
			}
			if ev.Profile != p.ARN {
				continue
			}
			switch ev.Type {
			case EventIssued:
				writeJSON(w, http.StatusOK, RotateResult{Profile: p.ARN, Status: Rotated, Seq: ev.Seq, AccessKeyID: ev.AccessKeyID, Expires: ev.Expires})
				return
			case EventMintFailed:
				writeError(w, http.StatusBadGateway, "minting the new generation failed: "+ev.Error+"; the scheduler retries with backoff")
				return
			}
		case <-timer.C:
			writeJSON(w, http.StatusAccepted, RotateResult{Profile: p.ARN, Status: RotationPending})
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) freeze(frozen bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.profile(w, r)
		if !ok {
			return
		}
		if err := s.opts.Profiles.Freeze(p.ARN, frozen); err != nil {
			s.writeErr(w, r, err)
			return
		}
		p.Frozen = frozen
		change := "rotation_unfrozen"
		if frozen {
			change = "rotation_frozen"
		}
		s.publish(change, ProfileChange{Profile: p.ARN})
		writeJSON(w, http.StatusOK, p)
	}
}

// Generations.

func (s *Server) generations(w http.ResponseWriter, r *http.Request) {
	s.writeGenerations(w, r, "")
}

func (s *Server) profileGenerations(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.profile(w, r); ok {
		s.writeGenerations(w, r, p.ARN)
	}
}

func (s *Server) writeGenerations(w http.ResponseWriter, r *http.Request, profile string) {
	gens, err := s.opts.Tracker.Generations(r.Context(), profile, s.now(), s.opts.Revocations)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if gens == nil {
		gens = []GenerationInfo{}
	}
	writeJSON(w, http.StatusOK, GenerationList{Generations: gens})
}

// Attachment.

func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.Attacher.Attachment())
}

func (s *Server) attach(w http.ResponseWriter, r *http.Request) {
	var body AttachRequest
	if !decode(w, r, &body) {
		return
	}
	if body.Role == "" {
		writeInvalid(w, "invalid attachment", &fault.FieldError{Field: "role", Msg: "is required: the name of a role in the instance's account"})
		return
	}
	a, err := s.opts.Attacher.Attach(r.Context(), body.Role)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.log.Info("role attached", "profile", a.Profile, "role", a.Role)
	s.publish("attachment", a)
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) detach(w http.ResponseWriter, r *http.Request) {
	a, err := s.opts.Attacher.Detach(r.Context())
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.log.Info("role detached", "profile", a.Profile)
	s.publish("attachment", a)
	writeJSON(w, http.StatusOK, a)
}
