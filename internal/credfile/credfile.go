// Package credfile writes a profile into an AWS shared credentials file
// (~/.aws/credentials), as `imdsemu key create --credentials-file` does.
package credfile

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/imdsemu/imdsemu/internal/atomicfile"
)

// SetProfile puts [profile] with a long-term key into the shared
// credentials file at path, replacing a section of that name and keeping
// every other line. The file and its directory are created when missing;
// the file is written whole (internal/atomicfile) with mode 0600, as it
// holds secrets.
func SetProfile(path, profile, accessKeyID, secretAccessKey string) error {
	if profile == "" || strings.ContainsAny(profile, "[]\n\r") {
		return fmt.Errorf("profile name %q is not valid", profile)
	}
	var kept []string
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		skip := false
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			line := sc.Text()
			if t := strings.TrimSpace(line); strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
				skip = strings.TrimSpace(t[1:len(t)-1]) == profile
			}
			if !skip {
				kept = append(kept, line)
			}
		}
		for len(kept) > 0 && strings.TrimSpace(kept[len(kept)-1]) == "" {
			kept = kept[:len(kept)-1]
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if len(kept) > 0 {
		kept = append(kept, "")
	}
	kept = append(kept, "["+profile+"]", "aws_access_key_id = "+accessKeyID, "aws_secret_access_key = "+secretAccessKey, "")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Replace(path, []byte(strings.Join(kept, "\n")), 0o600)
}
