package iamapi

import (
	"net/url"
	"strconv"
	"testing"
)

// FuzzParams feeds request bodies to the parser and the parameter readers
// every action uses: nothing panics, errors are 400s, and lists read back
// what was encoded.
func FuzzParams(f *testing.F) {
	f.Add("Action=SimulateCustomPolicy&PolicyInputList.member.1=%7B%7D&ActionNames.member.1=iam%3AGetUser&ContextEntries.member.1.ContextKeyName=aws%3AUserName&ContextEntries.member.1.ContextKeyValues.member.1=a&ContextEntries.member.1.ContextKeyType=string")
	f.Add("Action=CreateUser&UserName=carol&Path=%2Fa%2F&Tags.member.1.Key=k&Tags.member.1.Value=v")
	f.Add("Marker=b286Mg&MaxItems=2")
	f.Add("Tags.member.01.Key=a&ActionNames.member.0=x")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, body string) {
		p, e := parseParams("", []byte(body))
		if e != nil {
			if e.Status != 400 {
				t.Fatalf("parse error %v, want 400", e)
			}
			return
		}
		var v validation
		_ = v.str(p, "UserName", true, userName)
		_ = v.str(p, "Path", false, pathShape)
		_ = v.integer(p, "MaxItems", 1, 1000, 100)
		_, _ = v.boolean(p, "SetAsDefault")
		_ = v.enum(p, "Scope", false, "All", "AWS", "Local")
		pg := v.page(p)
		if pg.start < 0 {
			t.Fatalf("page start %d", pg.start)
		}
		names := p.list("ActionNames", &v)
		for _, e := range p.members("ContextEntries", &v) {
			_ = sublist(e, "ContextKeyValues")
		}
		tags := p.tags(&v)
		if e := v.Err(); e != nil && e.Status != 400 {
			t.Fatalf("validation error %v, want 400", e)
		}
		// Lists re-encoded read back the same.
		again := url.Values{}
		for i, n := range names {
			again.Set("ActionNames.member."+strconv.Itoa(i+1), n)
		}
		for i, tg := range tags {
			again.Set("Tags.member."+strconv.Itoa(i+1)+".Key", tg.Key)
			again.Set("Tags.member."+strconv.Itoa(i+1)+".Value", tg.Value)
		}
		p2, e := parseParams("", []byte(again.Encode()))
		if e != nil {
			t.Fatalf("re-encoded lists do not parse: %v", e)
		}
		var v2 validation
		names2, tags2 := p2.list("ActionNames", &v2), p2.tags(&v2)
		if len(names2) != len(names) || len(tags2) != len(tags) {
			t.Fatalf("round trip: %d names, %d tags, want %d, %d", len(names2), len(tags2), len(names), len(tags))
		}
		for i := range names {
			if names[i] != names2[i] {
				t.Fatalf("name %d = %q, want %q", i, names2[i], names[i])
			}
		}
		for i := range tags {
			if tags[i] != tags2[i] {
				t.Fatalf("tag %d = %v, want %v", i, tags2[i], tags[i])
			}
		}
	})
}

// TestPaginate walks a list in pages and gets every item once.
func TestPaginate(t *testing.T) {
	items := []int{1, 2, 3, 4, 5}
	var got []int
	pg := page{max: 2}
	for range 10 {
		out, trunc, marker := paginate(items, pg)
		got = append(got, out...)
		if !trunc {
			break
		}
		var v validation
		pg = v.page(params{all: url.Values{"Marker": {marker}, "MaxItems": {"2"}}})
		if e := v.Err(); e != nil {
			t.Fatal(e)
		}
	}
	if len(got) != 5 || got[4] != 5 {
		t.Errorf("pages gave %v", got)
	}
}
