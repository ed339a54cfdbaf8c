package iamapi

import "sync"

// The account password policy. imdsemu's users have no console passwords,
// so the policy governs nothing here; it is kept (in memory, per account,
// for the life of the server) so that tools that set and read it work.

type xmlPasswordPolicy struct {
	MinimumPasswordLength      int  `xml:"MinimumPasswordLength"`
	RequireSymbols             bool `xml:"RequireSymbols"`
	RequireNumbers             bool `xml:"RequireNumbers"`
	RequireUppercaseCharacters bool `xml:"RequireUppercaseCharacters"`
	RequireLowercaseCharacters bool `xml:"RequireLowercaseCharacters"`
	AllowUsersToChangePassword bool `xml:"AllowUsersToChangePassword"`
	ExpirePasswords            bool `xml:"ExpirePasswords"`
	MaxPasswordAge             int  `xml:"MaxPasswordAge,omitempty"`
	PasswordReusePrevention    int  `xml:"PasswordReusePrevention,omitempty"`
	HardExpiry                 bool `xml:"HardExpiry"`
}

// passwordPolicies are the accounts' password policies.
type passwordPolicies struct {
	mu sync.Mutex
	m  map[string]xmlPasswordPolicy
}

// updateAccountPasswordPolicy sets the policy; a parameter left out takes
// IAM's default (minimum length 8, nothing required, no expiry).
func (s *Server) updateAccountPasswordPolicy(rc *request) (any, *Error) {
	var v validation
	p := xmlPasswordPolicy{MinimumPasswordLength: v.integer(rc.p, "MinimumPasswordLength", 6, 128, 8)}
	p.RequireSymbols, _ = v.boolean(rc.p, "RequireSymbols")
	p.RequireNumbers, _ = v.boolean(rc.p, "RequireNumbers")
	p.RequireUppercaseCharacters, _ = v.boolean(rc.p, "RequireUppercaseCharacters")
	p.RequireLowercaseCharacters, _ = v.boolean(rc.p, "RequireLowercaseCharacters")
	p.AllowUsersToChangePassword, _ = v.boolean(rc.p, "AllowUsersToChangePassword")
	p.MaxPasswordAge = v.integer(rc.p, "MaxPasswordAge", 1, 1095, 0)
	p.PasswordReusePrevention = v.integer(rc.p, "PasswordReusePrevention", 1, 24, 0)
	p.HardExpiry, _ = v.boolean(rc.p, "HardExpiry")
	p.ExpirePasswords = p.MaxPasswordAge > 0
	if e := v.Err(); e != nil {
		return nil, e
	}
	if e := s.authorize(rc, "iam:UpdateAccountPasswordPolicy", "*"); e != nil {
		return nil, e
	}
	s.passwords.mu.Lock()
	defer s.passwords.mu.Unlock()
	if s.passwords.m == nil {
		s.passwords.m = map[string]xmlPasswordPolicy{}
	}
	s.passwords.m[rc.account()] = p
	return nil, nil
}

type getPasswordPolicyResult struct {
	PasswordPolicy xmlPasswordPolicy `xml:"PasswordPolicy"`
}

func (s *Server) getAccountPasswordPolicy(rc *request) (any, *Error) {
	if e := s.authorize(rc, "iam:GetAccountPasswordPolicy", "*"); e != nil {
		return nil, e
	}
	s.passwords.mu.Lock()
	defer s.passwords.mu.Unlock()
	p, ok := s.passwords.m[rc.account()]
	if !ok {
		return nil, errNoSuchEntity("The Password Policy with domain name %s cannot be found.", rc.account())
	}
	return getPasswordPolicyResult{PasswordPolicy: p}, nil
}

func (s *Server) deleteAccountPasswordPolicy(rc *request) (any, *Error) {
	if e := s.authorize(rc, "iam:DeleteAccountPasswordPolicy", "*"); e != nil {
		return nil, e
	}
	s.passwords.mu.Lock()
	defer s.passwords.mu.Unlock()
	if _, ok := s.passwords.m[rc.account()]; !ok {
		return nil, errNoSuchEntity("The account policy with name PasswordPolicy cannot be found.")
	}
	delete(s.passwords.m, rc.account())
	return nil, nil
}
