package policy

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Context holds the request context keys that conditions and policy
// variables read: aws:username, aws:SourceIp, s3:prefix and so on. Key names
// are case-insensitive, as in AWS. Every key holds a list of string values; a
// single-valued key has one. Typed setters store values in the form the
// condition operators parse (RFC 3339 times, "true"/"false", decimal numbers,
// IP addresses).
//
// The zero Context is empty and ready to use. A Context must not be modified
// while an Evaluate call that reads it is running.
type Context struct {
	m map[string][]string
}

// Set replaces the values of key. Set with no values records the key as
// present with an empty set of values (which ForAllValues treats as true and
// ForAnyValue as false).
func (c *Context) Set(key string, values ...string) {
	if c.m == nil {
		c.m = make(map[string][]string)
	}
	c.m[strings.ToLower(key)] = slices.Clone(values)
}

// Add appends values to key.
func (c *Context) Add(key string, values ...string) {
	if c.m == nil {
		c.m = make(map[string][]string)
	}
	k := strings.ToLower(key)
	c.m[k] = append(c.m[k], values...)
}

// SetBool sets key to "true" or "false", as for aws:SecureTransport.
func (c *Context) SetBool(key string, v bool) { c.Set(key, strconv.FormatBool(v)) }

// SetInt sets key to a decimal integer, as for aws:MultiFactorAuthAge.
func (c *Context) SetInt(key string, v int64) { c.Set(key, strconv.FormatInt(v, 10)) }

// SetTime sets key to t in RFC 3339 (UTC), as for aws:CurrentTime and
// aws:TokenIssueTime. Use SetInt with t.Unix() for aws:EpochTime.
func (c *Context) SetTime(key string, t time.Time) {
	c.Set(key, t.UTC().Format(time.RFC3339Nano))
}

// SetIP sets key to an IP address, as for aws:SourceIp.
func (c *Context) SetIP(key string, a netip.Addr) { c.Set(key, a.String()) }

// Delete removes key.
func (c *Context) Delete(key string) { delete(c.m, strings.ToLower(key)) }

// Get returns the values of key and whether the key is present.
func (c Context) Get(key string) ([]string, bool) {
	v, ok := c.m[strings.ToLower(key)]
	return v, ok
}

// Keys returns the (lower-cased) keys in sorted order.
func (c Context) Keys() []string {
	return slices.Sorted(maps.Keys(c.m))
}

// Clone returns a deep copy.
func (c Context) Clone() Context {
	var out Context
	for k, v := range c.m {
		out.Set(k, v...)
	}
	return out
}

// lookup takes an already lower-cased key.
func (c *Context) lookup(key string) []string {
	return c.m[key]
}

// single returns the value of a single-valued key (lower-cased). A key with
// zero or several values does not resolve a policy variable.
func (c *Context) single(key string) (string, bool) {
	v := c.m[key]
	if len(v) != 1 {
		return "", false
	}
	return v[0], true
}
