package credprovider

import (
	"bytes"
	"fmt"
	"strings"
)

// iniFile is a parsed shared credentials file: profile name → property
// (lower-cased) → value.
type iniFile map[string]map[string]string

// syntaxError is a malformed line. It carries the line number and never the
// line itself, which may hold a secret.
type syntaxError struct {
	Line int
	Msg  string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// parseINI parses the shared credentials file format as the AWS SDKs do
// (the SDKs and Tools reference guide, "Shared config and credentials files";
// Java v2's ProfileFileReader):
//
//   - a line whose first non-blank character is '#' or ';' is a comment;
//   - "[name]" starts a profile; text after the ']' must be a comment, and
//     the name is trimmed but otherwise literal and case-sensitive;
//   - "key = value" sets a property; keys are case-insensitive, whitespace
//     around key and value is dropped, and " #" or " ;" (after a space or
//     tab) starts a trailing comment;
//   - a line indented deeper than the property before it continues that
//     property (sub-properties such as "s3 =\n  max_concurrent_requests =
//     10"), as Python's configparser reads it;
//   - a profile that appears twice is merged; a repeated key keeps its last
//     value.
func parseINI(data []byte) (iniFile, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	file := iniFile{}
	var (
		section   map[string]string // nil before the first profile
		key       string            // the property continuation lines extend
		keyIndent int
		lines     = strings.Split(string(data), "\n")
	)
	for i, line := range lines {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		if key != "" && indent > keyIndent {
			value := stripComment(trimmed)
			if section[key] == "" {
				section[key] = value
			} else {
				section[key] += "\n" + value
			}
			continue
		}
		if trimmed[0] == '[' {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				return nil, &syntaxError{n, "profile header has no closing ']'"}
			}
			if rest := strings.TrimSpace(trimmed[end+1:]); rest != "" && rest[0] != '#' && rest[0] != ';' {
				return nil, &syntaxError{n, "unexpected text after the profile header's ']'"}
			}
			name := strings.TrimSpace(trimmed[1:end])
			if name == "" {
				return nil, &syntaxError{n, "empty profile name"}
			}
			if file[name] == nil {
				file[name] = map[string]string{}
			}
			section, key = file[name], ""
			continue
		}
		k, v, ok := strings.Cut(trimmed, "=")
		if !ok {
			return nil, &syntaxError{n, "expected a [profile] header or a key = value property"}
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			return nil, &syntaxError{n, "property has no name before '='"}
		}
		if section == nil {
			return nil, &syntaxError{n, "property before the first [profile] header"}
		}
		section[k] = stripComment(v)
		key, keyIndent = k, indent
	}
	return file, nil
}

// stripComment cuts a trailing comment, '#' or ';' preceded by a space or a
// tab, and trims what is left: "a #b" is "a", "a#b" stays "a#b".
func stripComment(v string) string {
	for i := 1; i < len(v); i++ {
		if (v[i] == '#' || v[i] == ';') && (v[i-1] == ' ' || v[i-1] == '\t') {
			v = v[:i]
			break
		}
	}
	return strings.TrimSpace(v)
}
