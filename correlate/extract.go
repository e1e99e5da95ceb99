package correlate

import (
	"encoding/binary"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// SourceAttributeKey is the log record attribute in which Braid records where
// a record's trace context came from, when Braid set it: "attribute", "body"
// or "inferred". Records that arrived with a trace ID do not get it.
const SourceAttributeKey = "braid.trace_context.source"

// Source says where a log record's trace context came from.
type Source uint8

const (
	// SourceNone means no trace context was found.
	SourceNone Source = iota
	// SourcePresent means the record already carried a trace ID in its
	// TraceID field.
	SourcePresent
	// SourceAttribute means the IDs were read from a record attribute.
	SourceAttribute
	// SourceBody means the IDs were read from the record body.
	SourceBody
	// SourceInferred means the IDs were not in the record: Braid linked it to
	// the only span active in its pod at the record's timestamp.
	SourceInferred
)

// String returns the value written to [SourceAttributeKey]: "attribute",
// "body" or "inferred"; "present" and "none" for the other two.
func (s Source) String() string {
	switch s {
	case SourcePresent:
		return "present"
	case SourceAttribute:
		return "attribute"
	case SourceBody:
		return "body"
	case SourceInferred:
		return "inferred"
	default:
		return "none"
	}
}

// TraceContext is the outcome of an extraction.
type TraceContext struct {
	TraceID pcommon.TraceID
	// SpanID is empty when only a trace ID was found.
	SpanID pcommon.SpanID
	Source Source
}

// Found reports whether a trace ID was found (or was already present).
func (tc TraceContext) Found() bool { return tc.Source != SourceNone }

// Extraction sources accepted in [ExtractorConfig.Sources].
const (
	ExtractFromAttributes = "attributes"
	ExtractFromBody       = "body"
)

// ExtractorConfig says where an [Extractor] looks. Key names are matched
// without regard to ASCII case, so "traceid" also matches traceId, traceID
// and TraceId.
type ExtractorConfig struct {
	// Sources lists where to look, in order: "attributes", "body".
	Sources []string
	// TraceIDKeys name a field holding a trace ID (32 or 16 hex digits).
	TraceIDKeys []string
	// SpanIDKeys name a field holding a span ID (16 hex digits).
	SpanIDKeys []string
	// TraceparentKeys name a field holding a W3C traceparent value.
	TraceparentKeys []string
	// B3Keys name a field holding a B3 single-header value
	// (traceid-spanid[-sampled[-parentspanid]]).
	B3Keys []string
	// BodyPaths are dotted paths of objects nested in a map or JSON body
	// whose fields are searched like top-level fields ("mdc", "Scopes").
	// Arrays on the way are looked through.
	BodyPaths []string
}

// DefaultExtractorConfig covers what the OpenTelemetry logging integrations
// of Go, Java, Python, Node.js, .NET, PHP, Ruby, Rust and Elixir print by
// default. The keys of other tracing systems are read whatever the
// configuration (see familyKeys).
func DefaultExtractorConfig() ExtractorConfig {
	return ExtractorConfig{
		Sources: []string{ExtractFromAttributes, ExtractFromBody},
		TraceIDKeys: []string{
			"trace_id", "traceid", "trace.id", "trace-id", // trace_id, traceId, traceID, TraceId
			"oteltraceid",   // Python logging instrumentation (otelTraceID)
			"otel_trace_id", // Erlang and Elixir logger metadata
			"@tr",           // Serilog compact JSON
			"x-b3-traceid",  // B3 multi-header
		},
		SpanIDKeys: []string{
			"span_id", "spanid", "span.id", "span-id",
			"otelspanid",
			"otel_span_id",
			"@sp",
			"x-b3-spanid",
		},
		TraceparentKeys: []string{"traceparent"},
		B3Keys:          []string{"b3"},
		BodyPaths: []string{
			"mdc",        // logstash-logback-encoder and log4j2 JSON layouts with MDC nested
			"context",    // log4j2 JsonTemplateLayout, many Node.js loggers
			"contextMap", // log4j2 JsonLayout
			"Scopes",     // .NET ILogger JSON console formatter with scopes
			"Properties", // Serilog JSON formatter
			"attributes", // OTLP-shaped JSON
			"fields",     // Rust tracing-subscriber, logrus nested
			"span",       // Rust tracing-subscriber current span
			"otel",
			"extra", // PHP Monolog's JSON formatter
		},
	}
}

// keyRole is what a matched key holds.
type keyRole uint8

const (
	roleNone keyRole = iota
	roleTraceID
	roleSpanID
	roleTraceparent
	roleB3
	// Roles of other tracing systems' keys (see familyKeys).
	roleDecimalTraceID
	roleDecimalSpanID
	roleJaeger
	roleXRay
	roleCloudTrace
	roleTransactionID
)

const maxKeyLen = 64

type keyEntry struct {
	name string
	role keyRole
}

// keyTable matches key names case-insensitively without allocating: keys are
// bucketed by length, so a lookup compares only names of the same length.
type keyTable struct {
	byLen [maxKeyLen + 1][]keyEntry
	// first holds, per length, the first bytes of the keys of that length
	// in both cases, as a 256-bit set: most keys in a line are told apart
	// by their length and first byte alone.
	first [maxKeyLen + 1][4]uint64
}

func (t *keyTable) add(name string, role keyRole) error {
	if name == "" || len(name) > maxKeyLen {
		return fmt.Errorf("key %q must be 1 to %d bytes long", name, maxKeyLen)
	}
	for _, e := range t.byLen[len(name)] {
		if strings.EqualFold(e.name, name) {
			if e.role != role {
				return fmt.Errorf("key %q is listed for two purposes", name)
			}
			return nil
		}
	}
	t.byLen[len(name)] = append(t.byLen[len(name)], keyEntry{name: name, role: role})
	for _, c := range []byte{name[0], lowerASCII(name[0]), upperASCII(name[0])} {
		t.first[len(name)][c>>6] |= 1 << (c & 63)
	}
	return nil
}

// addBuiltin adds a key unless the table already has it, whatever its role.
func (t *keyTable) addBuiltin(e keyEntry) {
	if t.lookup(e.name) == roleNone {
		_ = t.add(e.name, e.role)
	}
}

func (t *keyTable) lookup(name string) keyRole {
	if len(name) == 0 || len(name) > maxKeyLen {
		return roleNone
	}
	if c := name[0]; t.first[len(name)][c>>6]&(1<<(c&63)) == 0 {
		return roleNone
	}
	for _, e := range t.byLen[len(name)] {
		if equalFoldASCII(e.name, name) {
			return e.role
		}
	}
	return roleNone
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// Extractor finds trace context in log records. It is safe for concurrent
// use once built; build it with [NewExtractor].
type Extractor struct {
	attributes bool
	body       bool
	// attributesFirst is true when "attributes" comes before "body".
	attributesFirst bool
	keys            keyTable
	paths           []bodyPath
}

// bodyPath is a nested object whose keys are searched: with the top-level
// keys when it is a configured path, and with keys of its own when a
// tracing system nests its IDs there.
type bodyPath struct {
	segs    []string
	general bool
	own     *keyTable
}

// NewExtractor validates cfg and builds an Extractor.
func NewExtractor(cfg ExtractorConfig) (*Extractor, error) {
	x := &Extractor{}
	for i, s := range cfg.Sources {
		switch s {
		case ExtractFromAttributes:
			x.attributes = true
			if !x.body {
				x.attributesFirst = true
			}
		case ExtractFromBody:
			x.body = true
		default:
			return nil, fmt.Errorf("sources[%d]: unknown extraction source %q (want %q or %q)", i, s, ExtractFromAttributes, ExtractFromBody)
		}
	}
	lists := []struct {
		name string
		keys []string
		role keyRole
	}{
		{"trace_id_keys", cfg.TraceIDKeys, roleTraceID},
		{"span_id_keys", cfg.SpanIDKeys, roleSpanID},
		{"traceparent_keys", cfg.TraceparentKeys, roleTraceparent},
		{"b3_keys", cfg.B3Keys, roleB3},
	}
	for _, l := range lists {
		for _, k := range l.keys {
			if err := x.keys.add(k, l.role); err != nil {
				return nil, fmt.Errorf("%s: %w", l.name, err)
			}
		}
	}
	for i, p := range cfg.BodyPaths {
		segs := strings.Split(p, ".")
		for _, s := range segs {
			if s == "" {
				return nil, fmt.Errorf("body_paths[%d]: %q has an empty segment", i, p)
			}
		}
		if len(segs) > maxJSONDepth-1 {
			return nil, fmt.Errorf("body_paths[%d]: %q is deeper than %d", i, p, maxJSONDepth-1)
		}
		x.paths = append(x.paths, bodyPath{segs: segs, general: true})
	}
	for _, e := range familyKeys {
		x.keys.addBuiltin(e)
	}
	for _, fp := range familyPaths {
		segs := strings.Split(fp.path, ".")
		i := x.pathIndex(segs)
		if i < 0 {
			x.paths = append(x.paths, bodyPath{segs: segs})
			i = len(x.paths) - 1
		}
		if x.paths[i].own == nil {
			x.paths[i].own = new(keyTable)
		}
		for _, e := range fp.keys {
			x.paths[i].own.addBuiltin(e)
		}
	}
	return x, nil
}

var defaultExtractor = func() *Extractor {
	x, err := NewExtractor(DefaultExtractorConfig())
	if err != nil {
		panic(err)
	}
	return x
}()

// ExtractTraceContext finds the trace context of lr with the default
// configuration. See [Extractor.Extract].
func ExtractTraceContext(lr plog.LogRecord) TraceContext {
	return defaultExtractor.Extract(lr)
}

// Extract finds the trace context of lr without changing it. A record whose
// TraceID is set is reported as [SourcePresent] with its own IDs. Otherwise
// the configured sources are searched in order; the first that yields a valid
// trace ID wins, and the span ID is taken from that same source. Values that
// are not hex, have the wrong length or are all zeros are ignored; 16-digit
// trace IDs are left-padded to 128 bits.
func (x *Extractor) Extract(lr plog.LogRecord) TraceContext {
	if tid := lr.TraceID(); !tid.IsEmpty() {
		return TraceContext{TraceID: tid, SpanID: lr.SpanID(), Source: SourcePresent}
	}
	var tc TraceContext
	if x.attributesFirst {
		if x.fromAttributes(lr.Attributes(), &tc) {
			tc.Source = SourceAttribute
			return tc
		}
		if x.body && x.fromBody(lr.Body(), &tc) {
			tc.Source = SourceBody
			return tc
		}
		return TraceContext{}
	}
	if x.body && x.fromBody(lr.Body(), &tc) {
		tc.Source = SourceBody
		return tc
	}
	if x.attributes && x.fromAttributes(lr.Attributes(), &tc) {
		tc.Source = SourceAttribute
		return tc
	}
	return TraceContext{}
}

// ExtractString finds trace context in one line of text: a JSON object or
// free text with key=value pairs, a traceparent or a B3 value.
func (x *Extractor) ExtractString(s string) TraceContext {
	var tc TraceContext
	if x.fromString(s, &tc) {
		tc.Source = SourceBody
		return tc
	}
	return TraceContext{}
}

// ApplyTraceContext writes tc into lr: its IDs, as [WriteTraceIDs] does,
// and for attribute, body and inferred sources the [SourceAttributeKey]
// attribute.
func ApplyTraceContext(lr plog.LogRecord, tc TraceContext) {
	if WriteTraceIDs(lr, tc) {
		lr.Attributes().PutStr(SourceAttributeKey, tc.Source.String())
	}
}

// WriteTraceIDs writes the IDs of tc into lr when they came from an
// attribute, the body or inference, keeping a span ID already on the record,
// and reports whether it wrote them. Unlike [ApplyTraceContext] it does not
// record the source: adding an attribute costs pdata two allocations.
func WriteTraceIDs(lr plog.LogRecord, tc TraceContext) bool {
	switch tc.Source {
	case SourceAttribute, SourceBody, SourceInferred:
	default:
		return false
	}
	lr.SetTraceID(tc.TraceID)
	if lr.SpanID().IsEmpty() && !tc.SpanID.IsEmpty() {
		lr.SetSpanID(tc.SpanID)
	}
	return true
}

func (x *Extractor) fromBody(body pcommon.Value, tc *TraceContext) bool {
	switch body.Type() {
	case pcommon.ValueTypeStr:
		return x.fromString(body.Str(), tc)
	case pcommon.ValueTypeMap:
		var st scanState
		var path [maxJSONDepth]string
		x.scanMap(body.Map(), &st, &path, 0)
		return st.result(tc)
	}
	return false
}

// fromAttributes searches the record attributes' keys. It reports whether
// a trace ID was found.
func (x *Extractor) fromAttributes(m pcommon.Map, tc *TraceContext) bool {
	if m.Len() == 0 {
		return false
	}
	var st scanState
	for k, v := range m.All() {
		if role := x.keys.lookup(k); role != roleNone {
			if st.offerValue(role, v); st.done() {
				break
			}
		}
	}
	return st.result(tc)
}

// scanMap searches a map body's top-level keys and the configured nested
// paths; path holds the keys that lead to m.
func (x *Extractor) scanMap(m pcommon.Map, st *scanState, path *[maxJSONDepth]string, depth int) {
	// Top-level keys always count; nested ones only under a known path.
	at := x.pathAt(path[:depth])
	for k, v := range m.All() {
		if st.done() {
			return
		}
		if role := x.lookupAt(at, k); role != roleNone {
			st.offerValue(role, v)
			continue
		}
		if depth+1 >= maxJSONDepth || !x.pathPrefix(path[:depth], k) {
			continue
		}
		path[depth] = k
		switch v.Type() {
		case pcommon.ValueTypeMap:
			x.scanMap(v.Map(), st, path, depth+1)
		case pcommon.ValueTypeSlice:
			s := v.Slice()
			for j := 0; j < s.Len() && !st.done(); j++ {
				if e := s.At(j); e.Type() == pcommon.ValueTypeMap {
					x.scanMap(e.Map(), st, path, depth+1)
				}
			}
		}
	}
}

// offerValue offers a pdata value: a string, or for Datadog's decimal IDs
// a positive integer.
func (st *scanState) offerValue(role keyRole, v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		st.offer(role, v.Str())
	case pcommon.ValueTypeInt:
		if n := v.Int(); n > 0 {
			st.offerUint(role, uint64(n))
		}
	}
}

// offerUint offers an integer ID, which only Datadog's roles take. It needs
// 16 digits, as it does in text.
func (st *scanState) offerUint(role keyRole, n uint64) {
	switch role {
	case roleDecimalTraceID:
		if !st.hasTrace && n >= 1e15 {
			var tid pcommon.TraceID
			binary.BigEndian.PutUint64(tid[8:], n)
			st.trace, st.hasTrace = tid, true
		}
	case roleDecimalSpanID:
		if !st.hasSpan && n >= 1e15 {
			binary.BigEndian.PutUint64(st.span[:8], n)
			st.hasSpan = true
		}
	}
}

// pathAt returns which known body path path is: -1 for the top level, -2
// for none.
func (x *Extractor) pathAt(path []string) int {
	if len(path) == 0 {
		return -1
	}
	if i := x.pathIndex(path); i >= 0 {
		return i
	}
	return -2
}

func (x *Extractor) pathIndex(path []string) int {
	for j, p := range x.paths {
		if len(p.segs) != len(path) {
			continue
		}
		ok := true
		for i := range p.segs {
			if !equalFoldASCII(p.segs[i], path[i]) {
				ok = false
				break
			}
		}
		if ok {
			return j
		}
	}
	return -1
}

// lookupAt returns the role of key in the object at body path at (see
// pathAt).
func (x *Extractor) lookupAt(at int, key string) keyRole {
	switch {
	case at == -1:
		return x.keys.lookup(key)
	case at < 0:
		return roleNone
	}
	p := &x.paths[at]
	if p.own != nil {
		if r := p.own.lookup(key); r != roleNone {
			return r
		}
	}
	if p.general {
		return x.keys.lookup(key)
	}
	return roleNone
}

// pathPrefix reports whether path+key is a prefix of (or equal to) a
// configured body path, that is whether descending into key can lead to one.
func (x *Extractor) pathPrefix(path []string, key string) bool {
	for _, bp := range x.paths {
		p := bp.segs
		if len(p) < len(path)+1 {
			continue
		}
		ok := equalFoldASCII(p[len(path)], key)
		for i := 0; ok && i < len(path); i++ {
			ok = equalFoldASCII(p[i], path[i])
		}
		if ok {
			return true
		}
	}
	return false
}

// scanState collects candidates while a source is scanned.
type scanState struct {
	trace, span       pcommon.TraceID // span uses the first 8 bytes
	hasTrace, hasSpan bool
	// alt is a span ID to use when no other is found: Elastic's
	// transaction.id.
	alt    pcommon.SpanID
	hasAlt bool
}

func (st *scanState) done() bool { return st.hasTrace && st.hasSpan }

// offer parses v as the given role and keeps the first valid value of each
// kind.
func (st *scanState) offer(role keyRole, v string) {
	switch role {
	case roleTraceID:
		if !st.hasTrace {
			st.hasTrace = parseTraceID(v, &st.trace)
		}
	case roleSpanID:
		if !st.hasSpan {
			var sid pcommon.SpanID
			if parseSpanID(v, &sid) {
				copy(st.span[:8], sid[:])
				st.hasSpan = true
			}
		}
	case roleTransactionID:
		if !st.hasAlt {
			st.hasAlt = parseSpanID(v, &st.alt)
		}
	case roleDecimalTraceID:
		if !st.hasTrace {
			st.hasTrace = parseDecimalTraceID(v, &st.trace)
		}
	case roleDecimalSpanID:
		if !st.hasSpan {
			var sid pcommon.SpanID
			if parseDecimalSpanID(v, &sid) {
				copy(st.span[:8], sid[:])
				st.hasSpan = true
			}
		}
	case roleCloudTrace:
		if !st.hasTrace {
			st.hasTrace = parseCloudTrace(v, &st.trace)
		}
	case roleJaeger:
		if !st.hasTrace {
			var tid pcommon.TraceID
			var sid pcommon.SpanID
			if parseJaeger(v, &tid, &sid) {
				st.setBoth(tid, sid)
			}
		}
	case roleXRay:
		if !st.hasTrace {
			var tid pcommon.TraceID
			var sid pcommon.SpanID
			if trace, span := parseXRay(v, &tid, &sid); span {
				st.setBoth(tid, sid)
			} else if trace {
				st.trace, st.hasTrace = tid, true
			}
		}
	case roleTraceparent:
		if !st.hasTrace {
			var tid pcommon.TraceID
			var sid pcommon.SpanID
			if parseTraceparent(v, &tid, &sid) {
				st.setBoth(tid, sid)
			}
		}
	case roleB3:
		if !st.hasTrace {
			var tid pcommon.TraceID
			var sid pcommon.SpanID
			if parseB3(v, &tid, &sid) {
				st.setBoth(tid, sid)
			}
		}
	}
}

// setBoth records a trace ID and the span ID that came with it; that span ID
// replaces one found under a separate key, since the pair belongs together.
func (st *scanState) setBoth(tid pcommon.TraceID, sid pcommon.SpanID) {
	st.trace, st.hasTrace = tid, true
	copy(st.span[:8], sid[:])
	st.hasSpan = true
}

func (st *scanState) result(tc *TraceContext) bool {
	if !st.hasTrace {
		return false
	}
	tc.TraceID = st.trace
	switch {
	case st.hasSpan:
		copy(tc.SpanID[:], st.span[:8])
	case st.hasAlt:
		tc.SpanID = st.alt
	}
	return true
}
