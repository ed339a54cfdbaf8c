// Package pattern checks a string against a regular expression and a length
// range given apart.
//
// A counted repetition such as [\w+=,.@-]{1,512} compiles into a regexp
// program with one instruction group per repetition: hundreds of kilobytes,
// and megabytes for Unicode classes such as \p{L}. Compiled at package
// initialisation, those programs cost every imdsemu process about 16 MB and a
// quarter of a second before main ran. An unbounded pattern with the length
// checked first accepts exactly the same strings for almost nothing.
//
// Every pattern here is also compiled on its first use (Lazy), not at
// package initialisation: a process links some sixty of them and uses few,
// and compiled up front they were 40 % of an idle server's heap. TagText
// checks AWS's tag character class without a regular expression at all.
package pattern

import (
	"unicode/utf8"
)

// Bounded is a compiled pattern with a length range, counted in characters
// (runes). It is safe for concurrent use.
type Bounded struct {
	re       *Regexp
	min, max int
}

// MustCompile returns expr, which should use an unbounded repetition (+ or *)
// where the original had {min,max}, with its length range. The expression is
// compiled on first use (see Regexp) and panics then if it does not compile.
func MustCompile(expr string, min, max int) Bounded {
	return Bounded{re: Lazy(expr), min: min, max: max}
}

// MatchString reports whether s has min to max characters and matches the
// expression.
func (b Bounded) MatchString(s string) bool {
	if len(s) < b.min || len(s) > 4*b.max { // cheap byte bounds before counting runes
		return false
	}
	n := utf8.RuneCountInString(s)
	return n >= b.min && n <= b.max && b.re.MatchString(s)
}
