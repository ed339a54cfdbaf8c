package awsmanaged_test

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/imdsemu/imdsemu/awsmanaged"
)

// Every entry has a document that is a JSON policy, a version id, a path
// and an ARN that Lookup finds.
func TestCatalogue(t *testing.T) {
	all := awsmanaged.All()
	if len(all) == 0 {
		t.Fatal("empty catalogue")
	}
	versionRe := regexp.MustCompile(`^v[1-9][0-9]*$`)
	seen := map[string]bool{}
	for _, p := range all {
		arn := p.ARN()
		if seen[arn] {
			t.Errorf("%s listed twice", arn)
		}
		seen[arn] = true
		if !strings.HasPrefix(arn, "arn:aws:iam::aws:policy/") || !strings.HasPrefix(p.Path, "/") || !strings.HasSuffix(p.Path, "/") {
			t.Errorf("%s: bad ARN or path %q", arn, p.Path)
		}
		if !versionRe.MatchString(p.VersionID) || p.Description == "" || p.Created.IsZero() || p.Updated.Before(p.Created) {
			t.Errorf("%s: version %q, description %q, created %v, updated %v", arn, p.VersionID, p.Description, p.Created, p.Updated)
		}
		var doc struct {
			Version   string
			Statement json.RawMessage
		}
		if err := json.Unmarshal([]byte(p.Document), &doc); err != nil || doc.Version != "2012-10-17" || len(doc.Statement) == 0 {
			t.Errorf("%s: document is not a policy: %v", arn, err)
		}
		got, ok := awsmanaged.Lookup(arn)
		if !ok || got.Document != p.Document {
			t.Errorf("Lookup(%s) = %v", arn, ok)
		}
	}
	for _, arn := range []string{"arn:aws:iam::aws:policy/NoSuchPolicy", "arn:aws:iam::aws:policy/administratoraccess",
		"arn:aws:iam::123456789012:policy/AdministratorAccess", ""} {
		if _, ok := awsmanaged.Lookup(arn); ok {
			t.Errorf("Lookup(%q) found a policy", arn)
		}
	}
	if !awsmanaged.IsAWSManaged("arn:aws:iam::aws:policy/Whatever") || awsmanaged.IsAWSManaged("arn:aws:iam::123456789012:policy/x") {
		t.Error("IsAWSManaged")
	}
}

// Every embedded file belongs to an entry.
func TestCatalogue_NoStrayFiles(t *testing.T) {
	known := map[string]bool{}
	for _, p := range awsmanaged.All() {
		known["policies"+p.Path+p.Name+".json"] = true
	}
	err := fs.WalkDir(awsmanaged.Files(), "policies", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !known[path] {
			t.Errorf("%s has no catalogue entry", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
