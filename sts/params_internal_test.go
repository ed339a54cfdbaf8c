package sts

import (
	"net/url"
	"strconv"
	"testing"
)

func FuzzParams(f *testing.F) {
	f.Add("Action=AssumeRole&Tags.member.1.Key=a&Tags.member.1.Value=b&Tags.member.2.Key=c&PolicyArns.member.1.arn=arn:aws:iam::aws:policy/X&TransitiveTagKeys.member.1=a")
	f.Add("Tags.member.01.Key=a")
	f.Add("Tags.member.1=a&TransitiveTagKeys.member.1.x=y")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, body string) {
		p, e := parseParams("", []byte(body))
		if e != nil {
			return
		}
		var v validation
		tags, e := p.tags("Tags", &v)
		if e == nil {
			// Re-encoding what was decoded decodes to the same tags.
			again := url.Values{}
			for i, tg := range tags {
				n := strconv.Itoa(i + 1)
				again.Set("Tags.member."+n+".Key", tg.Key)
				again.Set("Tags.member."+n+".Value", tg.Value)
			}
			p2, e2 := parseParams("", []byte(again.Encode()))
			if e2 != nil {
				t.Fatalf("re-encoded tags do not parse: %v", e2)
			}
			var v2 validation
			tags2, e2 := p2.tags("Tags", &v2)
			if e2 != nil || len(tags2) != len(tags) {
				t.Fatalf("round trip: %v, %d tags, want %d", e2, len(tags2), len(tags))
			}
			for i := range tags {
				if tags[i] != tags2[i] {
					t.Fatalf("round trip: tag %d = %v, want %v", i, tags2[i], tags[i])
				}
			}
		}
		_, _ = p.list("TransitiveTagKeys")
		_, _ = p.policyARNs(&v)
		_ = v.Err()
	})
}
