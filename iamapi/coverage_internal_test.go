package iamapi

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCoverageTable keeps docs/iam.md's coverage table and the served
// actions in step: every action served is in a row marked yes or partly,
// and every action such a row names is served.
func TestCoverageTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "iam.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "### Coverage")
	if !ok {
		t.Fatal(`docs/iam.md has no "### Coverage" section`)
	}
	name := regexp.MustCompile(`^[A-Z][A-Za-z]+$`)
	listed := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.Contains(cells[1], "---") {
			continue
		}
		supported := strings.TrimSpace(cells[2])
		if supported != "yes" && supported != "partly" {
			continue
		}
		for _, a := range strings.Split(cells[1], ",") {
			if a = strings.TrimSpace(a); name.MatchString(a) {
				listed[a] = true
			}
		}
	}
	served := actions()
	for a := range served {
		if !listed[a] {
			t.Errorf("%s is served but not in docs/iam.md's coverage table", a)
		}
	}
	for a := range listed {
		if _, ok := served[a]; !ok {
			t.Errorf("docs/iam.md lists %s as supported, but it is not served", a)
		}
	}
}
