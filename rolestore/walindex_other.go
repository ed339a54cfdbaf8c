//go:build !unix

package rolestore

import (
	"errors"
	"os"
)

// mapWALIndex is not implemented here: RevokedBefore queries every time.
func mapWALIndex(*os.File) ([]byte, error) { return nil, errors.New("no mmap") }

func unmapWALIndex([]byte) error { return nil }
