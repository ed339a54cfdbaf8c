package pattern

import (
	"strings"
	"unicode"
)

// TagText reports whether every character of s is one AWS allows in a tag
// key or value, the class [\p{L}\p{Z}\p{N}_.:/=+\-@]: a letter, a
// separator, a number, or one of _ . : / = + - @. The empty string is
// allowed; lengths are the caller's to check. (As a regular expression the
// Unicode classes compile into a 36 KB program.)
func TagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.Is(unicode.Z, r) && !unicode.IsNumber(r) && !strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}
