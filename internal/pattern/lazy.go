package pattern

import (
	"regexp"
	"sync"
)

// Regexp is a regular expression compiled on its first use instead of at
// package initialisation. Every imdsemu process links some sixty validation
// patterns (IAM names, ARNs, tags, SAML fields) and most runs use few of
// them: compiled up front they held 400 KB of heap, about 40 % of an idle
// server's, which the garbage collector marked at every cycle. It is safe
// for concurrent use; an expression that does not compile panics on first
// use, as regexp.MustCompile would have at start.
type Regexp struct {
	expr string
	re   func() *regexp.Regexp
}

// Lazy returns expr as a Regexp compiled on first use.
func Lazy(expr string) *Regexp {
	return &Regexp{expr: expr, re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

// Regexp returns the compiled expression, compiling it on the first call.
func (r *Regexp) Regexp() *regexp.Regexp { return r.re() }

// String is the expression's source text.
func (r *Regexp) String() string { return r.expr }

// MatchString reports whether s contains a match of the expression.
func (r *Regexp) MatchString(s string) bool { return r.re().MatchString(s) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.re().FindStringSubmatch(s) }
