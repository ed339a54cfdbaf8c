package instance

import (
	"testing"
	"unsafe"

	"github.com/imdsemu/imdsemu/internal/sizeclass"
)

// An Instance fits the 288-byte size class: 8 bytes more would cost 32 for
// each instance of a fleet.
func TestInstance_Size(t *testing.T) {
	sizeclass.Fits(t, "an Instance", unsafe.Sizeof(Instance{}), 288)
}
