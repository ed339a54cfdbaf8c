package credprovider

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// profiles is a parsed credentials file: profile name → key → value.
type profiles map[string]map[string]string

// syntaxError is a malformed line. It carries the line number and never the
// line itself, which may hold a secret (Java's message quotes the line; we
// do not).
type syntaxError struct {
	Line int
	Msg  string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// parseJavaV1 parses a credentials file in the dialect of Java v1's
// AbstractProfilesConfigFileScanner.run (aws-java-sdk-core 1.11/1.12):
//
//   - each line is trimmed; an empty line or one starting with '#' is a
//     comment (';' is not);
//   - a line that starts with '[' and ends with ']' starts a profile, its
//     name trimmed ("[default] # x" does not end with ']': it is a
//     property line without '=', an error);
//   - any other line is split at its first '=' into a trimmed key and a
//     trimmed value: no inline comments ("AKIA # x" is the value), and keys
//     keep their case (BasicProfile reads "aws_access_key_id" exactly);
//   - a property before the first profile, or a line without '=', is an
//     error;
//   - a profile that appears twice is merged; a repeated key keeps its last
//     value.
func parseJavaV1(data []byte) (profiles, error) {
	out := profiles{}
	var cur map[string]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			name := strings.TrimSpace(line[1 : len(line)-1])
			if out[name] == nil {
				out[name] = map[string]string{}
			}
			cur = out[name]
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, &syntaxError{n, "invalid property format: no '=' character is found in the line"}
		}
		if cur == nil {
			return nil, &syntaxError{n, "property is defined without a preceding profile name"}
		}
		cur[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
