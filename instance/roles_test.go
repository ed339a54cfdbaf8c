package instance

import (
	"fmt"
	"maps"
	"slices"
	"testing"
)

// roleMap behaves as the map it stands for, below and beyond the few it
// keeps in a slice.
func TestRoleMap(t *testing.T) {
	var m roleMap
	want := map[string]string{}
	check := func(step string) {
		t.Helper()
		got := slices.Sorted(m.keys())
		if !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
			t.Fatalf("%s: keys %v, want %v", step, got, slices.Sorted(maps.Keys(want)))
		}
		for k, v := range want {
			if m.get(k) != v {
				t.Fatalf("%s: get(%s) = %q, want %q", step, k, m.get(k), v)
			}
		}
		if m.get("absent") != "" {
			t.Fatalf("%s: get(absent) = %q", step, m.get("absent"))
		}
	}
	set := func(k, v string) {
		m.set(k, v)
		if v == "" {
			delete(want, k)
		} else {
			want[k] = v
		}
	}
	for i := range 2 * smallRoleMap {
		set(fmt.Sprint("p", i), fmt.Sprint("r", i))
		check(fmt.Sprint("add ", i))
		set("p0", fmt.Sprint("changed", i))
		check(fmt.Sprint("change ", i))
	}
	set("p1", "")
	set("p1", "")
	check("forget")
	var small roleMap
	small.set("a", "1")
	small.set("b", "2")
	small.set("a", "")
	if small.many != nil || small.get("b") != "2" || small.get("a") != "" {
		t.Errorf("small map after forgetting: %+v", small)
	}
}
