package lokilabels

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/grafana/loki/pkg/push"
)

// Format renders labels as the Stream.Labels string of a push request,
// `{a="1", b="2"}`, sorted by name, values quoted as Go and Prometheus quote
// them. buf is reused when it has room; labels are sorted in place.
func Format(buf []byte, labels []push.LabelAdapter) []byte {
	slices.SortFunc(labels, func(a, b push.LabelAdapter) int { return strings.Compare(a.Name, b.Name) })
	buf = append(buf[:0], '{')
	for i, l := range labels {
		if i > 0 {
			buf = append(buf, ',', ' ')
		}
		buf = append(buf, l.Name...)
		buf = append(buf, '=')
		buf = strconv.AppendQuote(buf, l.Value)
	}
	return append(buf, '}')
}

// ErrEmptySelector is returned by Parse for `{}` and "": Loki requires at
// least one label per stream.
var ErrEmptySelector = errors.New("at least one label pair is required per stream")

// Parse reads a Stream.Labels string (`{a="1", b="2"}`) into labels sorted
// by name. Only equality matchers are allowed, as in a Loki push; label names
// must be valid Prometheus label names and appear once.
func Parse(s string) ([]push.LabelAdapter, error) {
	p := parser{s: s}
	p.skipSpace()
	if !p.consume('{') {
		return nil, fmt.Errorf("parse labels %q: expected '{' at offset %d", truncate(s), p.i)
	}
	var out []push.LabelAdapter
	for {
		p.skipSpace()
		if p.consume('}') {
			break
		}
		if len(out) > 0 {
			if !p.consume(',') {
				return nil, fmt.Errorf("parse labels %q: expected ',' or '}' at offset %d", truncate(s), p.i)
			}
			p.skipSpace()
			if p.consume('}') { // trailing comma, as PromQL allows
				break
			}
		}
		name := p.name()
		if name == "" {
			return nil, fmt.Errorf("parse labels %q: expected a label name at offset %d", truncate(s), p.i)
		}
		p.skipSpace()
		if !p.consume('=') || p.peek() == '~' || p.peek() == '=' {
			return nil, fmt.Errorf("parse labels %q: label %s: only '=' matchers are allowed", truncate(s), name)
		}
		p.skipSpace()
		value, err := p.quoted()
		if err != nil {
			return nil, fmt.Errorf("parse labels %q: label %s: %w", truncate(s), name, err)
		}
		out = append(out, push.LabelAdapter{Name: name, Value: value})
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("parse labels %q: unexpected text after '}' at offset %d", truncate(s), p.i)
	}
	if len(out) == 0 {
		return nil, ErrEmptySelector
	}
	slices.SortFunc(out, func(a, b push.LabelAdapter) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("parse labels %q: duplicate label name %s", truncate(s), out[i].Name)
		}
	}
	return out, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) consume(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) name() string {
	start := p.i
	for p.i < len(p.s) && isLabelChar(p.s[p.i]) {
		if p.i == start && isDigit(p.s[p.i]) {
			return ""
		}
		p.i++
	}
	return p.s[start:p.i]
}

// quoted reads a double-quoted string with Go escapes, or a back-quoted raw
// string, as PromQL does.
func (p *parser) quoted() (string, error) {
	if p.i >= len(p.s) {
		return "", errors.New("expected a quoted value, got end of input")
	}
	q := p.s[p.i]
	if q != '"' && q != '`' {
		return "", fmt.Errorf("expected a quoted value at offset %d", p.i)
	}
	start := p.i
	p.i++
	escaped := false
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case escaped:
			escaped = false
		case c == '\\' && q != '`':
			escaped = true
		case c == q:
			raw := p.s[start:p.i]
			if q == '`' || strings.IndexByte(raw, '\\') < 0 {
				return raw[1 : len(raw)-1], nil // nothing to unescape
			}
			v, err := strconv.Unquote(raw)
			if err != nil {
				return "", fmt.Errorf("invalid quoted value %s: %w", truncate(raw), err)
			}
			return v, nil
		}
	}
	return "", errors.New("unterminated quoted value")
}

func truncate(s string) string {
	const max = 128
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
