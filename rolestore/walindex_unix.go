//go:build unix

package rolestore

import (
	"fmt"
	"os"
	"syscall"
)

// mapWALIndex maps the WAL-index header of the open -shm file f read-only
// and shared, so that every commit's new header shows in it.
func mapWALIndex(f *os.File) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < walIndexHeaderSize {
		return nil, fmt.Errorf("%s: %d bytes, too short for a WAL index", f.Name(), st.Size())
	}
	return syscall.Mmap(int(f.Fd()), 0, walIndexHeaderSize, syscall.PROT_READ, syscall.MAP_SHARED)
}

func unmapWALIndex(b []byte) error { return syscall.Munmap(b) }
