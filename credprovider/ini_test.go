package credprovider

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var initests = []struct {
	name string
	in   string
	want iniFile
}{
	{"empty", "", iniFile{}},
	{"one profile", "[default]\naws_access_key_id = A\naws_secret_access_key = S\n",
		iniFile{"default": {"aws_access_key_id": "A", "aws_secret_access_key": "S"}}},
	// Comments and whitespace.
	{"comments", "# top\n; also\n[p] # trailing\n  # indented comment\nk = v ; note\nk2 = v2 #note\n",
		iniFile{"p": {"k": "v", "k2": "v2"}}},
	{"hash without space is data", "[p]\nk = a#b;c\n", iniFile{"p": {"k": "a#b;c"}}},
	{"value only a comment", "[p]\nk = # nothing\n", iniFile{"p": {"k": ""}}},
	{"whitespace", "\t[  spaced name  ]\t\n  k\t=\t v \t\n\n\n", iniFile{"spaced name": {"k": "v"}}},
	{"CRLF and BOM", "\xef\xbb\xbf[p]\r\nk = v\r\n", iniFile{"p": {"k": "v"}}},
	{"no newline at end", "[p]\nk=v", iniFile{"p": {"k": "v"}}},
	{"equals in value", "[p]\nk = a=b==\n", iniFile{"p": {"k": "a=b=="}}},
	// Keys are case-insensitive; profile names are not.
	{"key case", "[Dev]\nAWS_Access_Key_ID = A\n[dev]\nk = v\n",
		iniFile{"Dev": {"aws_access_key_id": "A"}, "dev": {"k": "v"}}},
	// Repeats.
	{"repeated profile merges", "[p]\na = 1\nb = 2\n[q]\nx = y\n[p]\nb = 3\n",
		iniFile{"p": {"a": "1", "b": "3"}, "q": {"x": "y"}}},
	{"profile prefix is literal", "[profile dev]\nk = v\n", iniFile{"profile dev": {"k": "v"}}},
	// Continuation lines (sub-properties) belong to the property above.
	{"sub-properties", "[p]\ns3 =\n  max_concurrent_requests = 10\n  region = x\nk = v\n",
		iniFile{"p": {"s3": "max_concurrent_requests = 10\nregion = x", "k": "v"}}},
	{"same indent is a new property", "[p]\n  a = 1\n  b = 2\n", iniFile{"p": {"a": "1", "b": "2"}}},
	{"empty profile", "[p]\n", iniFile{"p": {}}},
}

func TestParseINI(t *testing.T) {
	for _, tt := range initests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseINI([]byte(tt.in))
			if err != nil {
				t.Fatalf("parseINI(%q) error %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseINI(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

var inierrors = []struct {
	name string
	in   string
	line int
	msg  string
}{
	{"unclosed header", "[p\nk = v\n", 1, "profile header has no closing ']'"},
	{"text after header", "[p] x\n", 1, "unexpected text after the profile header's ']'"},
	{"empty name", "# c\n[ ]\n", 2, "empty profile name"},
	{"no equals", "[p]\naws_secret_access_key SECRET123\n", 2, "expected a [profile] header or a key = value property"},
	{"no key", "[p]\n = SECRET123\n", 2, "property has no name before '='"},
	{"before header", "k = v\n[p]\n", 1, "property before the first [profile] header"},
}

func TestParseINI_Errors(t *testing.T) {
	for _, tt := range inierrors {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseINI([]byte(tt.in))
			var se *syntaxError
			if !errors.As(err, &se) {
				t.Fatalf("parseINI(%q) error %v, want a syntaxError", tt.name, err)
			}
			if se.Line != tt.line || se.Msg != tt.msg {
				t.Errorf("parseINI(%q) = line %d %q, want line %d %q", tt.name, se.Line, se.Msg, tt.line, tt.msg)
			}
		})
	}
}

// FuzzParseINI checks that parsing never panics, and that a parsed file's
// properties all have lower-case, trimmed, non-empty keys.
func FuzzParseINI(f *testing.F) {
	for _, tt := range initests {
		f.Add(tt.in)
	}
	for _, tt := range inierrors {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		file, err := parseINI([]byte(in))
		if err != nil {
			return
		}
		for name, props := range file {
			if name == "" {
				t.Errorf("empty profile name")
			}
			for k := range props {
				if k == "" || k != toLowerTrim(k) {
					t.Errorf("profile %q has key %q", name, k)
				}
			}
		}
	})
}

func toLowerTrim(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
