package correlate

import (
	"encoding/binary"
	"math/bits"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// maxJSONDepth bounds how deep the JSON scanner descends, so hostile input
// cannot exhaust the stack.
const maxJSONDepth = 16

// traceparentLen is the length of a version-00 W3C traceparent value:
// 00-<32 hex>-<16 hex>-<2 hex>.
const traceparentLen = 55

var hexVal = func() (t [256]uint8) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = uint8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = uint8(c-'a') + 10
	}
	for c := 'A'; c <= 'F'; c++ {
		t[c] = uint8(c-'A') + 10
	}
	return t
}()

func isHex(c byte) bool { return hexVal[c] != 0xff }

func isAlnum(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// decodeHex decodes len(dst)*2 hex digits of s into dst. It reports false
// for a non-hex digit or an all-zero result.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	// Invalid digits are 0xff in hexVal: or-ing every digit tells at the
	// end, without a branch per byte.
	var bad, nonzero byte
	for i := range dst {
		hi, lo := hexVal[s[2*i]], hexVal[s[2*i+1]]
		bad |= hi | lo
		dst[i] = hi<<4 | lo
		nonzero |= dst[i]
	}
	return bad <= 15 && nonzero != 0
}

// parseTraceID accepts 32 hex digits, or 16 left-padded to 128 bits as W3C
// and B3 do.
func parseTraceID(s string, dst *pcommon.TraceID) bool {
	var tid pcommon.TraceID
	switch len(s) {
	case 32:
		if !decodeHex(tid[:], s) {
			return false
		}
	case 16:
		if !decodeHex(tid[8:], s) {
			return false
		}
	default:
		return false
	}
	*dst = tid
	return true
}

func parseSpanID(s string, dst *pcommon.SpanID) bool {
	var sid pcommon.SpanID
	if !decodeHex(sid[:], s) {
		return false
	}
	*dst = sid
	return true
}

// parseTraceparent parses a W3C traceparent value. Versions other than 00
// may carry more fields after the flags; version ff is invalid.
func parseTraceparent(s string, tid *pcommon.TraceID, sid *pcommon.SpanID) bool {
	if len(s) < traceparentLen || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return false
	}
	if !isHex(s[0]) || !isHex(s[1]) || !isHex(s[53]) || !isHex(s[54]) {
		return false
	}
	version := hexVal[s[0]]<<4 | hexVal[s[1]]
	if version == 0xff || (version == 0 && len(s) != traceparentLen) ||
		(len(s) > traceparentLen && s[traceparentLen] != '-') {
		return false
	}
	var t pcommon.TraceID
	var p pcommon.SpanID
	if !decodeHex(t[:], s[3:35]) || !decodeHex(p[:], s[36:52]) {
		return false
	}
	*tid, *sid = t, p
	return true
}

// parseB3 parses a B3 single-header value:
// {traceid}-{spanid}[-{sampled}[-{parentspanid}]].
func parseB3(s string, tid *pcommon.TraceID, sid *pcommon.SpanID) bool {
	dash := -1
	for i := 0; i < len(s) && i <= 32; i++ {
		if s[i] == '-' {
			dash = i
			break
		}
	}
	if dash != 16 && dash != 32 {
		return false
	}
	rest := s[dash+1:]
	if len(rest) < 16 || (len(rest) > 16 && rest[16] != '-') {
		return false
	}
	var t pcommon.TraceID
	var p pcommon.SpanID
	if !parseTraceID(s[:dash], &t) || !parseSpanID(rest[:16], &p) {
		return false
	}
	*tid, *sid = t, p
	return true
}

// fromString finds trace context in a text body. A JSON object is scanned
// field by field; other text for key=value and key:value pairs. Then, in
// any text, a W3C traceparent value and the bracketed [traceid-spanid] that
// Spring Boot prints are recognised by their exact shape.
//
// Most lines take a shorter way to the same answer: a line without a run
// of hex digits cannot hold an ID, and in a line whose runs all stand as
// whole pair values, reading those pairs is all the full scan would do.
func (x *Extractor) fromString(s string, tc *TraceContext) bool {
	lo, hi := nextHexRun(s, 0)
	if lo < 0 {
		return false
	}
	var st scanState
	if x.scanHexRuns(s, lo, hi, &st) {
		return st.result(tc)
	}
	return x.scanString(s, tc)
}

// minHexRun is the shortest run of hex digits that every trace ID found in
// text needs: a 16- or 32-digit ID under a known key, a traceparent, a B3
// value and Spring Boot's bracketed pair all hold one, and IDs never carry
// escapes. Text without such a run cannot yield a trace ID.
const minHexRun = 16

// nextHexRun returns the bounds of the first run of at least minHexRun hex
// digits in s that starts at or after from, or -1, -1. from must not be
// inside a run. It looks at every minHexRun-th byte only, since any such
// run covers one of them, and measures the run around a probe only when
// the probe is a hex digit. Most lines without IDs are rejected in a few
// nanoseconds this way, far faster than scanning them for keys.
func nextHexRun(s string, from int) (int, int) {
	from = max(from, 0) // lets the compiler drop the bounds checks below
	for p := from + minHexRun - 1; p < len(s); {
		if !isHex(s[p]) {
			// A run without s[p] lies wholly before or after it, and
			// nothing between from and p held one.
			p += minHexRun
			continue
		}
		lo := p
		for lo > from && isHex(s[lo-1]) {
			lo--
		}
		hi := p + 1
		for hi < len(s) && isHex(s[hi]) {
			hi++
		}
		if hi-lo >= minHexRun {
			return lo, hi
		}
		// The run through p is too short and s[hi] is not hex: the next
		// run starts after hi.
		p = hi + minHexRun
	}
	return -1, -1
}

// scanHexRuns reads trace context from the pairs whose values are the hex
// runs of s, starting with the run s[lo:hi]: "key":"<run>" in a JSON object
// with no nested object or array, key=<run> or key: <run> (the value
// perhaps quoted) in other text. Every ID the full scan can find is such a
// run, so when each run stands as a whole pair value, these pairs are all
// the full scan would read, in the same order. scanHexRuns reports false,
// leaving the line to the full scan, as soon as a run stands anywhere else
// (inside a longer string, a traceparent, a B3 value, brackets, escapes).
// FuzzScanHexRuns holds it to the full scan's answers.
func (x *Extractor) scanHexRuns(s string, lo, hi int, st *scanState) bool {
	i, isJSON := objectStart(s)
	if isJSON && (strings.IndexByte(s[i+1:], '{') >= 0 || strings.IndexByte(s[i+1:], '[') >= 0) {
		return false
	}
	for lo >= 0 {
		var role keyRole
		end := hi
		if isJSON {
			key, ok := jsonKeyOf(s, lo, hi)
			if !ok {
				return false
			}
			role = x.keys.lookup(key)
		} else {
			sep, ok := separatorOf(s, lo)
			if !ok {
				return false
			}
			start, kend, ok := keyBefore(s, sep)
			if ok {
				role = x.keys.lookup(s[start:kend])
			}
			// The full scan takes the value up to its first byte that
			// cannot be in one, and goes on after it.
			for end < len(s) && isValueChar(s[end]) {
				end++
			}
		}
		if role != roleNone {
			v := s[lo:end]
			if !isJSON {
				v = s[lo:valueEnd(s, end, role)]
			}
			if st.offer(role, v); st.done() {
				return true
			}
		}
		lo, hi = nextHexRun(s, end)
	}
	return true
}

// jsonKeyOf returns the key whose whole string value is s[lo:hi], in
// "key":"<value>" with JSON white space around the colon. It reports false
// when the run stands otherwise, or next to a backslash.
func jsonKeyOf(s string, lo, hi int) (string, bool) {
	if lo < 2 || hi >= len(s) || s[lo-1] != '"' || s[hi] != '"' || s[lo-2] == '\\' {
		return "", false
	}
	k := lo - 2
	for k >= 0 && isJSONSpace(s[k]) {
		k--
	}
	if k < 0 || s[k] != ':' {
		return "", false
	}
	k--
	for k >= 0 && isJSONSpace(s[k]) {
		k--
	}
	if k < 1 || s[k] != '"' {
		return "", false
	}
	end := k
	start := end - 1
	for start >= 0 && s[start] != '"' {
		if s[start] == '\\' || end-start > maxKeyLen {
			return "", false
		}
		start--
	}
	if start < 0 || (start > 0 && s[start-1] == '\\') {
		return "", false
	}
	// The key follows the object's opening brace or a comma.
	b := start - 1
	for b >= 0 && isJSONSpace(s[b]) {
		b--
	}
	if b < 0 || (s[b] != '{' && s[b] != ',') {
		return "", false
	}
	return s[start+1 : end], true
}

// separatorOf finds the = or : whose pair value starts at lo, as the full
// scan reads a pair: the separator, spaces, perhaps a quote, the value.
func separatorOf(s string, lo int) (int, bool) {
	k := lo - 1
	if k >= 0 && (s[k] == '"' || s[k] == '\'') {
		k--
	}
	for k >= 0 && s[k] == ' ' {
		k--
	}
	if k < 0 || (s[k] != '=' && s[k] != ':') {
		return 0, false
	}
	return k, true
}

// objectStart returns where the JSON object that a line holds opens, after
// spaces and tabs, and whether the line is one: what both scans read as JSON.
func objectStart(s string) (int, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i, i < len(s) && s[i] == '{'
}

// scanString is fromString without the hex-run filter.
func (x *Extractor) scanString(s string, tc *TraceContext) bool {
	// The scan state lives inside the scanner so that neither escapes.
	j := jsonScanner{s: s, x: x}
	st := &j.st
	isJSON := false
	if i, ok := objectStart(s); ok {
		j.i = i
		isJSON = j.object(0) || st.hasTrace
	}
	if !isJSON && !st.hasTrace {
		x.scanPairs(s, st)
	}
	if !st.hasTrace {
		scanTraceparent(s, st)
	}
	if !st.hasTrace {
		scanBracketed(s, st)
	}
	if !st.hasTrace {
		scanSleuth(s, st)
	}
	if !st.hasTrace {
		scanNRLinking(s, st)
	}
	return st.result(tc)
}

func isKeyChar(c byte) bool {
	return isAlnum(c) || c == '_' || c == '.' || c == '-' || c == '@'
}

func isValueChar(c byte) bool { return isAlnum(c) || c == '-' }

// scanPairs looks for key=value and key: value pairs whose key is known,
// in the order they appear. The separators are found with IndexByte, which
// skips the bytes in between far faster than a byte loop.
func (x *Extractor) scanPairs(s string, st *scanState) {
	nextEq, nextColon := indexFrom(s, 0, '='), indexFrom(s, 0, ':')
	for !st.done() {
		var i int
		switch {
		case nextEq < 0 && nextColon < 0:
			return
		case nextColon < 0 || (nextEq >= 0 && nextEq < nextColon):
			i = nextEq
		default:
			i = nextColon
		}
		next := x.pairAt(s, i, st)
		if nextEq >= 0 && nextEq < next {
			nextEq = indexFrom(s, next, '=')
		}
		if nextColon >= 0 && nextColon < next {
			nextColon = indexFrom(s, next, ':')
		}
	}
}

// indexFrom is strings.IndexByte from position from, as an absolute index.
func indexFrom(s string, from int, c byte) int {
	if from >= len(s) {
		return -1
	}
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

// keyBefore returns the bounds of the key of the pair whose separator is at
// i: key=, key:, "key": or 'key'=. It reports false when there is none, or
// when the key is longer than any known key.
func keyBefore(s string, i int) (int, int, bool) {
	end := i
	quoted := end > 0 && (s[end-1] == '"' || s[end-1] == '\'')
	if quoted {
		end--
	}
	start := end
	for start > 0 && end-start < maxKeyLen && isKeyChar(s[start-1]) {
		start--
	}
	if quoted && (start == 0 || s[start-1] != s[end]) {
		return 0, 0, false
	}
	if !quoted && start > 0 && isKeyChar(s[start-1]) {
		return 0, 0, false // key longer than any known key
	}
	return start, end, true
}

// pairAt reads the pair whose separator is at i, and returns where the
// scan goes on.
func (x *Extractor) pairAt(s string, i int, st *scanState) int {
	start, end, ok := keyBefore(s, i)
	if !ok {
		return i + 1
	}
	role := x.keys.lookup(s[start:end])
	if role == roleNone {
		return i + 1
	}
	v := i + 1
	for v < len(s) && s[v] == ' ' {
		v++
	}
	if v < len(s) && (s[v] == '"' || s[v] == '\'') {
		v++
	}
	e := v
	for e < len(s) && isValueChar(s[e]) {
		e++
	}
	// A header-shaped value is read whole, but the scan goes on after its
	// first part, as it does for other values.
	st.offer(role, s[v:valueEnd(s, e, role)])
	return max(e, i+1)
}

// scanTraceparent finds a version-00 traceparent anywhere in s, standing as
// a word of its own.
func scanTraceparent(s string, st *scanState) {
	for off := 0; off+traceparentLen <= len(s); {
		k := strings.Index(s[off:len(s)-traceparentLen+3], "00-")
		if k < 0 {
			return
		}
		i := off + k
		off = i + 1
		if s[i+35] != '-' || s[i+52] != '-' {
			continue
		}
		if i > 0 && isValueChar(s[i-1]) {
			continue
		}
		if e := i + traceparentLen; e < len(s) && isValueChar(s[e]) {
			continue
		}
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		if parseTraceparent(s[i:i+traceparentLen], &tid, &sid) {
			st.setBoth(tid, sid)
			return
		}
	}
}

// scanBracketed finds [<32 hex>-<16 hex>], Spring Boot's default
// correlation field.
func scanBracketed(s string, st *scanState) {
	const n = 1 + 32 + 1 + 16 + 1
	for off := 0; off+n <= len(s); {
		k := strings.IndexByte(s[off:len(s)-n+1], '[')
		if k < 0 {
			return
		}
		i := off + k
		off = i + 1
		if s[i+33] != '-' || s[i+50] != ']' {
			continue
		}
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		if decodeHex(tid[:], s[i+1:i+33]) && decodeHex(sid[:], s[i+34:i+50]) {
			st.setBoth(tid, sid)
			return
		}
	}
}

// jsonScanner walks one JSON object without building it. Strings are
// sub-slices of the input, so the walk does not allocate.
type jsonScanner struct {
	s    string
	i    int
	x    *Extractor
	st   scanState
	path [maxJSONDepth]string // the keys that lead to the object scanned
}

func (j *jsonScanner) ws() {
	for j.i < len(j.s) && isJSONSpace(j.s[j.i]) {
		j.i++
	}
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (j *jsonScanner) peek() byte {
	if j.i < len(j.s) {
		return j.s[j.i]
	}
	return 0
}

// str reads a string at j.i and returns its raw content (escapes left as
// they are: an ID never contains one).
func (j *jsonScanner) str() (string, bool) {
	if j.peek() != '"' {
		return "", false
	}
	start := j.i + 1
	if end := stringEnd(j.s, start); end >= 0 {
		j.i = end + 1
		return j.s[start:end], true
	}
	return "", false
}

const (
	swarLow  = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// bytesEqual has the high bit set in each byte of v that equals c, and
// perhaps in bytes above such a byte: the lowest set bit is always exact.
func bytesEqual(v uint64, c byte) uint64 {
	x := v ^ (swarLow * uint64(c))
	return (x - swarLow) &^ x & swarHigh
}

// stringEnd returns the index of the quote that closes the JSON string
// whose content starts at i, or -1. It looks at eight bytes at a time for
// a quote or a backslash, which beats a call to IndexByte on the short
// strings (keys, IDs, levels) that make up most of a log line.
func stringEnd(s string, i int) int {
	for i+8 <= len(s) {
		v := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		m := bytesEqual(v, '"') | bytesEqual(v, '\\')
		if m == 0 {
			i += 8
			continue
		}
		i += bits.TrailingZeros64(m) / 8
		if s[i] == '"' {
			return i
		}
		i += 2 // a backslash and the byte it escapes
	}
	for ; i < len(s); i++ {
		switch s[i] {
		case '"':
			return i
		case '\\':
			i++
		}
	}
	return -1
}

// skip passes over one value of any kind without recursion.
func (j *jsonScanner) skip() bool {
	if j.i >= len(j.s) {
		return true
	}
	switch j.s[j.i] {
	case '"':
		_, ok := j.str()
		return ok
	case '{', '[':
		return j.skipContainer()
	case '}', ']':
		return false
	}
	// A scalar ends at a delimiter.
	for ; j.i < len(j.s); j.i++ {
		if c := j.s[j.i]; c == ',' || c == '}' || c == ']' || isJSONSpace(c) {
			return true
		}
	}
	return true
}

// skipContainer passes over the object or array at j.i without recursion.
func (j *jsonScanner) skipContainer() bool {
	depth := 0
	for j.i < len(j.s) {
		switch j.s[j.i] {
		case '"':
			if _, ok := j.str(); !ok {
				return false
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				j.i++
				return true
			}
		}
		j.i++
	}
	return false
}

// object scans the object at j.i. It returns false on malformed input or
// when the scan stopped early because both IDs were found.
func (j *jsonScanner) object(depth int) bool {
	j.i++ // '{'
	at := j.x.pathAt(j.path[:depth])
	j.ws()
	if j.peek() == '}' {
		j.i++
		return true
	}
	for {
		j.ws()
		key, ok := j.str()
		if !ok {
			return false
		}
		j.ws()
		if j.peek() != ':' {
			return false
		}
		j.i++
		j.ws()
		role := j.x.lookupAt(at, key)
		c := j.peek()
		switch {
		case role != roleNone && c == '"':
			v, _ := j.str()
			j.st.offer(role, v)
			if j.st.done() {
				return false
			}
		case (role == roleDecimalTraceID || role == roleDecimalSpanID) && '0' <= c && c <= '9':
			// Datadog's IDs as JSON numbers.
			start := j.i
			for j.i < len(j.s) && '0' <= j.s[j.i] && j.s[j.i] <= '9' {
				j.i++
			}
			if e := j.peek(); e == ',' || e == '}' || isJSONSpace(e) {
				j.st.offer(role, j.s[start:j.i])
				if j.st.done() {
					return false
				}
			} else if !j.skip() {
				return false
			}
		case (c == '{' || c == '[') && depth+1 < maxJSONDepth && j.x.pathPrefix(j.path[:depth], key):
			j.path[depth] = key
			if !j.container(depth + 1) {
				return false
			}
		default:
			if !j.skip() {
				return false
			}
		}
		j.ws()
		switch j.peek() {
		case ',':
			j.i++
		case '}':
			j.i++
			return true
		default:
			return false
		}
	}
}

// container scans an object, or an array whose object elements are scanned
// at the same depth (arrays are looked through).
func (j *jsonScanner) container(depth int) bool {
	if j.peek() == '{' {
		return j.object(depth)
	}
	j.i++ // '['
	for {
		j.ws()
		switch j.peek() {
		case ']':
			j.i++
			return true
		case '{':
			if !j.object(depth) {
				return false
			}
		default:
			if !j.skip() {
				return false
			}
		}
		j.ws()
		switch j.peek() {
		case ',':
			j.i++
		case ']':
			j.i++
			return true
		default:
			return false
		}
	}
}
