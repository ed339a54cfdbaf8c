// Package sizeclass is for the tests that keep a type in its memory size
// class: the types a process holds one of for each instance of a fleet,
// where a field more can cost a whole step of the allocator's classes
// (8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224,
// 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768,
// 896, 1024, ...) for each of them.
package sizeclass

import (
	"runtime"
	"testing"
)

// header is what the runtime adds to an object of more than 512 bytes that
// holds pointers (its type, for the collector); smaller ones take none.
const header = 8

// Fits fails t unless an object of size bytes (unsafe.Sizeof of a type
// that holds pointers) fits the size class class.
func Fits(t testing.TB, name string, size, class uintptr) {
	t.Helper()
	if size > 512 {
		size += header
	}
	if size > class {
		t.Errorf("%s takes %d bytes: it no longer fits the %d-byte size class; make room before adding a field", name, size, class)
	}
}

// HeapInUse is the bytes of live heap objects after a collection: taken
// before and after making n of something, what each one keeps.
func HeapInUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
