package instance

import (
	"iter"
	"maps"
	"slices"
)

// roleMap is what an instance records of the roles whose credentials it
// keeps: role ARN by scheduler key. Most instances record one (their own
// profile's); the primary records every profile's. A Go map of one entry
// costs about 300 bytes, so the first few are kept in a slice, and a map
// is made only beyond. The zero value is empty. Not safe for concurrent
// use (Instance.rolesMu guards it).
type roleMap struct {
	few  []keyRole
	many map[string]string // when len(few) would exceed smallRoleMap
}

type keyRole struct{ key, role string }

const smallRoleMap = 4

func (m *roleMap) get(key string) string {
	if m.many != nil {
		return m.many[key]
	}
	for _, kr := range m.few {
		if kr.key == key {
			return kr.role
		}
	}
	return ""
}

// entry is the key recorded equal to key, and its role; ok is false when
// there is none. With a map the key is key itself.
func (m *roleMap) entry(key string) (k, role string, ok bool) {
	if m.many != nil {
		role, ok = m.many[key]
		return key, role, ok
	}
	for _, kr := range m.few {
		if kr.key == key {
			return kr.key, kr.role, true
		}
	}
	return "", "", false
}

// set records role for key; "" forgets key.
func (m *roleMap) set(key, role string) {
	switch {
	case m.many != nil && role == "":
		delete(m.many, key)
	case m.many != nil:
		m.many[key] = role
	default:
		i := slices.IndexFunc(m.few, func(kr keyRole) bool { return kr.key == key })
		switch {
		case i >= 0 && role == "":
			m.few = slices.Delete(m.few, i, i+1)
		case i >= 0:
			m.few[i].role = role
		case role == "":
		case len(m.few) < smallRoleMap:
			m.few = append(m.few, keyRole{key, role})
		default:
			m.many = make(map[string]string, len(m.few)+1)
			for _, kr := range m.few {
				m.many[kr.key] = kr.role
			}
			m.many[key] = role
			m.few = nil
		}
	}
}

// keys are the keys recorded, in no particular order.
func (m *roleMap) keys() iter.Seq[string] {
	if m.many != nil {
		return maps.Keys(m.many)
	}
	return func(yield func(string) bool) {
		for _, kr := range m.few {
			if !yield(kr.key) {
				return
			}
		}
	}
}
