package imds

import (
	"testing"
	"time"
	"unsafe"

	"github.com/imdsemu/imdsemu/internal/sizeclass"
)

// A Server fills the 224-byte size class: a field more takes it to 240,
// 16 bytes more for each instance of a large fleet. Notices are 40 bytes,
// in the 48-byte class, until a first notice.
func TestSizeClasses(t *testing.T) {
	sizeclass.Fits(t, "a Server", unsafe.Sizeof(Server{}), 224)
	sizeclass.Fits(t, "Notices", unsafe.Sizeof(Notices{}), 48)
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
