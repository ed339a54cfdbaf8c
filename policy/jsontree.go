package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
)

// maxDepth bounds nesting. A valid policy nests about seven levels deep
// (document, Statement, array, statement, Condition, operator, key, values).
const maxDepth = 32

type nodeKind int

const (
	nodeObject nodeKind = iota
	nodeArray
	nodeString
	nodeNumber
	nodeBool
	nodeNull
)

func (k nodeKind) String() string {
	switch k {
	case nodeObject:
		return "an object"
	case nodeArray:
		return "an array"
	case nodeString:
		return "a string"
	case nodeNumber:
		return "a number"
	case nodeBool:
		return "a boolean"
	default:
		return "null"
	}
}

// node is one JSON value with object keys kept in input order. encoding/json
// alone cannot report duplicate keys, which AWS rejects.
type node struct {
	kind  nodeKind
	text  string   // string value, number literal, or "true"/"false"
	keys  []string // object keys, in order
	vals  []*node  // object values, parallel to keys; array elements
	start int64    // input offset of the value
}

func (n *node) get(key string) *node {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// parseTree decodes data strictly: one JSON value, no duplicate keys, no
// trailing data.
func parseTree(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := treeParser{dec: dec, data: data}
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	off := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, p.syntaxErr(off, "unexpected data after the policy document")
	}
	return n, nil
}

type treeParser struct {
	dec  *json.Decoder
	data []byte
}

func (p *treeParser) value(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, p.syntaxErr(p.dec.InputOffset(), "document is nested too deeply")
	}
	start := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.wrap(err, start)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: nodeObject, start: start}
			seen := make(map[string]bool)
			for p.dec.More() {
				koff := p.dec.InputOffset()
				ktok, err := p.dec.Token()
				if err != nil {
					return nil, p.wrap(err, koff)
				}
				key, ok := ktok.(string)
				if !ok {
					return nil, p.syntaxErr(koff, "object key must be a string")
				}
				if seen[key] {
					return nil, p.syntaxErr(koff, "duplicate key "+strconv.Quote(key))
				}
				seen[key] = true
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key)
				n.vals = append(n.vals, v)
			}
			if _, err := p.dec.Token(); err != nil { // '}'
				return nil, p.wrap(err, p.dec.InputOffset())
			}
			return n, nil
		case '[':
			n := &node{kind: nodeArray, start: start}
			for p.dec.More() {
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
			if _, err := p.dec.Token(); err != nil { // ']'
				return nil, p.wrap(err, p.dec.InputOffset())
			}
			return n, nil
		default:
			return nil, p.syntaxErr(start, "unexpected "+strconv.QuoteRune(rune(t)))
		}
	case string:
		return &node{kind: nodeString, text: t, start: start}, nil
	case json.Number:
		return &node{kind: nodeNumber, text: string(t), start: start}, nil
	case bool:
		return &node{kind: nodeBool, text: strconv.FormatBool(t), start: start}, nil
	case nil:
		return &node{kind: nodeNull, start: start}, nil
	}
	return nil, p.syntaxErr(start, "unexpected token")
}

func (p *treeParser) wrap(err error, off int64) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return p.syntaxErr(se.Offset, se.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return p.syntaxErr(int64(len(p.data)), "unexpected end of input")
	default:
		return p.syntaxErr(off, err.Error())
	}
}

func (p *treeParser) syntaxErr(off int64, msg string) *SyntaxError {
	if off < 0 {
		off = 0
	}
	if off > int64(len(p.data)) {
		off = int64(len(p.data))
	}
	line, col := 1, 1
	for _, c := range p.data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &SyntaxError{Offset: off, Line: line, Column: col, Msg: msg}
}
