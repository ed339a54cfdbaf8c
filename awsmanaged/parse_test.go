package awsmanaged_test

import (
	"testing"

	"github.com/imdsemu/imdsemu/awsmanaged"
	"github.com/imdsemu/imdsemu/policy"
)

// Every shipped document is a valid identity-based policy to imdsemu's
// policy engine, within IAM's 6,144-character managed policy quota.
func TestCatalogue_DocumentsParse(t *testing.T) {
	for _, p := range awsmanaged.All() {
		if _, err := policy.ParseOptions([]byte(p.Document), policy.Options{Kind: policy.KindManaged, Name: p.ARN()}); err != nil {
			t.Errorf("%s: %v", p.ARN(), err)
		}
	}
}
