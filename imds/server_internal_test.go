package imds

import (
	"testing"
	"unsafe"
)

// A Server sits in the 896-byte size class: objects over 512 bytes that
// hold pointers take an 8-byte header there, so at 896 bytes or more it
// would take 1,024, 128 bytes more for each instance of a large fleet.
// Make room before adding a field.
func TestServer_SizeClass(t *testing.T) {
	const class, header = 896, 8
	if size := unsafe.Sizeof(Server{}); size+header > class {
		t.Errorf("a Server is %d bytes: with its %d-byte header it no longer fits the %d-byte size class", size, header, class)
	}
}
