package imds

import (
	"testing"
	"time"
	"unsafe"
)

// A Server fills the 224-byte size class (objects of 512 bytes or less
// take no header of their own): a field more takes it to 240, 16 bytes more
// for each instance of a large fleet. Make room before adding one.
func TestServer_SizeClass(t *testing.T) {
	const class = 224
	if size := unsafe.Sizeof(Server{}); size > class {
		t.Errorf("a Server is %d bytes: it no longer fits the %d-byte size class", size, class)
	}
}

// Notices are 40 bytes, in the 48-byte size class, until a first notice.
func TestNotices_SizeClass(t *testing.T) {
	const class = 48
	if size := unsafe.Sizeof(Notices{}); size > class {
		t.Errorf("Notices are %d bytes: they no longer fit the %d-byte size class", size, class)
	}
}

// Servers made one after the other on one Routes share their metadata
// when it differs only in ID, tags and user data.
func TestRoutes_SharedInstance(t *testing.T) {
	routes := NewRoutes()
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	mk := func(in Instance) *Server {
		t.Helper()
		s, err := New(Options{Credentials: noRole{}, TokenKey: make([]byte, MinTokenKeySize), Routes: routes,
			Now: func() time.Time { return at }, Instance: in})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := mk(Instance{ID: "i-0a"})
	b := mk(Instance{ID: "i-0b", Tags: map[string]string{"k": "v"}, UserData: []byte("x")})
	c := mk(Instance{ID: "i-0c", Type: "m5.large"})
	if a.inst != b.inst {
		t.Error("two servers whose metadata differs in ID, tags and user data keep a copy each")
	}
	if c.inst == b.inst || c.inst.Type != "m5.large" {
		t.Errorf("a server of another type shares the metadata of the one before (type %q)", c.inst.Type)
	}
}
