package rolestore_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them. Run
// with revokeEnv set, the test binary is instead the other process of
// TestSQLite_RevocationByAnotherProcess.
func TestMain(m *testing.M) {
	if arg := os.Getenv(revokeEnv); arg != "" {
		os.Exit(revokeAsAnotherProcess(arg))
	}
	goleak.VerifyTestMain(m)
}
