package pattern

import (
	"sync"
	"testing"
)

func TestLazyCompilesOnceOnFirstUse(t *testing.T) {
	r := Lazy(`^arn:aws:iam::(\d{12}):role/(.+)$`)
	if r.String() != `^arn:aws:iam::(\d{12}):role/(.+)$` {
		t.Fatalf("String() = %q", r.String())
	}
	var wg sync.WaitGroup
	got := make([]bool, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = r.MatchString("arn:aws:iam::123456789012:role/app")
		}()
	}
	wg.Wait()
	for i, ok := range got {
		if !ok {
			t.Errorf("goroutine %d: no match", i)
		}
	}
	if r.Regexp() != r.Regexp() {
		t.Error("Regexp() compiled the expression twice")
	}
	m := r.FindStringSubmatch("arn:aws:iam::123456789012:role/app")
	if len(m) != 3 || m[1] != "123456789012" || m[2] != "app" {
		t.Errorf("FindStringSubmatch = %q", m)
	}
}

func TestLazyBadExpressionPanicsOnFirstUse(t *testing.T) {
	r := Lazy(`([a-z]`) // Lazy itself must not compile, so no panic here
	defer func() {
		if recover() == nil {
			t.Error("a bad expression did not panic on first use")
		}
	}()
	r.MatchString("a")
}
