package iamapi

import (
	"time"

	"github.com/imdsemu/imdsemu/rolestore"
)

// Response documents, shaped as botocore's IAM model reads them: every
// list is <Name><member>…</member></Name>, every time ISO 8601 in UTC,
// every policy document URL-encoded JSON (botocore's json_decode_policies
// decodes the policyDocumentType members).

// members is an XML list: <Name><member>…</member>…</Name>, present even
// when empty, as IAM's required lists are.
type members[T any] struct {
	Member []T `xml:"member"`
}

func list[T any](items []T) members[T] { return members[T]{Member: items} }

// optional is a list left out when empty.
func optional[T any](items []T) *members[T] {
	if len(items) == 0 {
		return nil
	}
	return &members[T]{Member: items}
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// policyText URL-encodes a policy document as IAM returns it: every byte
// but the RFC 3986 unreserved characters as %XX.
func policyText(doc string) string {
	const hexUpper = "0123456789ABCDEF"
	b := make([]byte, 0, len(doc)*2)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return string(b)
}

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func tagsXML(tags []rolestore.Tag) *members[xmlTag] {
	out := make([]xmlTag, 0, len(tags))
	for _, t := range tags {
		out = append(out, xmlTag{t.Key, t.Value})
	}
	return optional(out)
}

type xmlUser struct {
	Path       string           `xml:"Path"`
	UserName   string           `xml:"UserName"`
	UserID     string           `xml:"UserId"`
	Arn        string           `xml:"Arn"`
	CreateDate string           `xml:"CreateDate"`
	Tags       *members[xmlTag] `xml:"Tags,omitempty"`
}

func userXML(u rolestore.User, withTags bool) xmlUser {
	x := xmlUser{Path: pathOf(u.Path), UserName: u.Name, UserID: u.ID, Arn: u.ARN(), CreateDate: isoTime(u.CreatedAt)}
	if withTags {
		x.Tags = tagsXML(u.Tags)
	}
	return x
}

func pathOf(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
