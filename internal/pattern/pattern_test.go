package pattern

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestBoundedMatchesCountedRepetition checks that an unbounded pattern with a
// length range accepts exactly what the counted repetition accepted.
func TestBoundedMatchesCountedRepetition(t *testing.T) {
	cases := []struct {
		counted, unbounded string
		min, max           int
	}{
		{`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`, `^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`, 1, 128},
		{`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`, `^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`, 0, 256},
		{`^[\w+=,.@-]{2,64}$`, `^[\w+=,.@-]+$`, 2, 64},
	}
	inputs := []string{"", "a", "ab", "aws:x", "ключ", "日本語のタグ", "a b", "a\tb", "a!b", "x=y+z@w"}
	for _, n := range []int{1, 2, 63, 64, 65, 127, 128, 129, 255, 256, 257} {
		inputs = append(inputs, strings.Repeat("a", n), strings.Repeat("é", n), strings.Repeat("é", n-1)+"!")
	}
	for _, c := range cases {
		want := regexp.MustCompile(c.counted)
		got := MustCompile(c.unbounded, c.min, c.max)
		for _, in := range inputs {
			if w, g := want.MatchString(in), got.MatchString(in); w != g {
				t.Errorf("%s on %q (%d chars): counted %v, bounded %v", c.counted, trunc(in), len([]rune(in)), w, g)
			}
		}
	}
}

func trunc(s string) string {
	if len(s) > 20 {
		return fmt.Sprintf("%s…", string([]rune(s)[:10]))
	}
	return s
}

func TestTagTextMatchesTheTagPattern(t *testing.T) {
	re := regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	inputs := []string{"", "a", "aws:cloudformation:stack-name", "Name", "x=y+z@w/v.u_t", "ключ", "日本語のタグ",
		"a b", "a\u00a0b", "a\u2028b", "a\tb", "a\nb", "a!b", "a#b", "a*b", "½", "Ⅻ", "٣", "a\x00b", "\xff", "é", "e\u0301"}
	for r := rune(0); r < 0x3000; r += 7 {
		inputs = append(inputs, "k"+string(r))
	}
	for _, in := range inputs {
		if w, g := re.MatchString(in), TagText(in); w != g {
			t.Errorf("%q: pattern %v, TagText %v", in, w, g)
		}
	}
}
