package instance

import (
	"testing"
	"unsafe"
)

// An Instance fits the 288-byte size class (objects of 512 bytes or less
// take no header): 8 bytes more would cost 32 for each instance of a fleet.
func TestInstance_Size(t *testing.T) {
	const class = 288
	if size := unsafe.Sizeof(Instance{}); size > class {
		t.Errorf("an Instance is %d bytes: it no longer fits the %d-byte size class", size, class)
	}
}
