package lokiexporter

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/braidobs/braid/internal/lokilabels"
)

// labelSource is an attribute that becomes a label.
type labelSource struct {
	attr  string
	label string
}

// encoder turns pdata logs into Loki push requests, one per tenant. It holds
// configuration only and is safe for concurrent use.
type encoder struct {
	resourceLabels     []labelSource
	recordLabels       []labelSource
	honorHints         bool
	tenantAttribute    string
	defaultTenant      string
	structuredMetadata bool
	maxLabelValue      int
	now                func() time.Time
	// sizes makes encode count each resource's entries and bytes.
	sizes bool
}

func newEncoder(cfg *Config) *encoder {
	e := &encoder{
		honorHints:         cfg.Labels.HonorHints,
		tenantAttribute:    cfg.Tenant.FromAttribute,
		defaultTenant:      cfg.Tenant.Value,
		structuredMetadata: cfg.StructuredMetadata,
		maxLabelValue:      cfg.MaxLabelValueLength,
		now:                time.Now,
	}
	// Validate refuses two attributes with one label name; keep the first
	// anyway, so that a stream can never carry a label twice.
	add := func(list []labelSource, attrs []string) []labelSource {
		for _, a := range attrs {
			ls := labelSource{attr: a, label: lokilabels.LabelName(a)}
			if !slices.ContainsFunc(list, func(o labelSource) bool { return o.label == ls.label }) {
				list = append(list, ls)
			}
		}
		return list
	}
	e.resourceLabels = add(nil, cfg.Labels.ResourceAttributes)
	e.recordLabels = add(nil, cfg.Labels.Attributes)
	return e
}

// tenantRequest is the push request of one tenant, with the input resources
// it came from (to hand back exactly those when it has to be retried).
type tenantRequest struct {
	tenant    string
	req       push.PushRequest
	streamIdx map[string]int // Stream.Labels -> index in req.Streams
	resources []int          // indices into ResourceLogs of the input
	entries   int
	// streamBytes are the encoded bytes of each stream's entries (field
	// headers included), by index in req.Streams: what size adds up, so that
	// marshalling need not size every entry again.
	streamBytes []int
	// sizes are the entries and bytes of each resource in req, when the
	// encoder counts them.
	sizes []resourceSize
}

// size is req's protobuf encoding's length, as req.Size() computes it, from
// the entry sizes the encoder took.
func (tr *tenantRequest) size() int {
	n := 0
	for i := range tr.req.Streams {
		l := tr.streamBytes[i]
		if labels := len(tr.req.Streams[i].Labels); labels > 0 {
			l += 1 + varintSize(uint64(labels)) + labels
		}
		n += 1 + varintSize(uint64(l)) + l
	}
	return n
}

// resourceSize is what one input resource takes in a push request: its
// entries, and their bytes in the request's protobuf encoding before
// compression (each entry with its field header; the streams' label
// strings, shared by resources, are not in it).
type resourceSize struct {
	resource       int
	entries, bytes int
}

// encoded is the outcome of encoding one plog.Logs.
type encoded struct {
	tenants         []*tenantRequest  // in order of first appearance
	truncatedLabels int               // label values cut to max_label_value_length
	names           map[string]string // attribute name -> label name, for names that need rewriting
}

// labelName is lokilabels.LabelName, remembering the names it had to rewrite
// so that an attribute repeated on every record costs one allocation.
func (o *encoded) labelName(attr string) string {
	if lokilabels.IsValidLabelName(attr) {
		return attr
	}
	if name, ok := o.names[attr]; ok {
		return name
	}
	name := lokilabels.LabelName(attr)
	o.names[attr] = name
	return name
}

func (e *encoder) encode(ld plog.Logs) *encoded {
	out := &encoded{names: map[string]string{}}
	byTenant := map[string]*tenantRequest{}
	now := e.now()
	var labelBuf []byte
	var sc scratch
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource().Attributes()

		tenant := e.defaultTenant
		if e.tenantAttribute != "" {
			if v, ok := res.Get(e.tenantAttribute); ok && v.AsString() != "" {
				tenant = v.AsString()
			}
		}
		tr := byTenant[tenant]
		if tr == nil {
			tr = &tenantRequest{tenant: tenant, streamIdx: map[string]int{}}
			byTenant[tenant] = tr
			out.tenants = append(out.tenants, tr)
		}
		tr.resources = append(tr.resources, i)
		var size *resourceSize
		if e.sizes {
			tr.sizes = append(tr.sizes, resourceSize{resource: i})
			size = &tr.sizes[len(tr.sizes)-1]
		}

		// Resource labels, then the resource attributes left for metadata.
		var resLabels []push.LabelAdapter
		var used []string
		for _, ls := range e.resourceLabels {
			if v, ok := res.Get(ls.attr); ok {
				used = append(used, ls.attr)
				if !isEmpty(v) { // an empty label is no label, in Loki as in Prometheus
					resLabels = append(resLabels, push.LabelAdapter{Name: ls.label, Value: e.labelValue(v, out)})
				}
			}
		}
		if e.honorHints {
			if hint, ok := res.Get(lokilabels.LabelsHintAttribute); ok {
				for _, attr := range strings.Split(hint.AsString(), ",") {
					attr = strings.TrimSpace(attr)
					if attr == "" || slices.Contains(used, attr) {
						continue
					}
					v, ok := res.Get(attr)
					if !ok || isEmpty(v) {
						continue
					}
					name := lokilabels.LabelName(attr)
					if slices.ContainsFunc(resLabels, func(l push.LabelAdapter) bool { return l.Name == name }) {
						continue
					}
					resLabels = append(resLabels, push.LabelAdapter{Name: name, Value: e.labelValue(v, out)})
					used = append(used, attr)
				}
			}
		}
		var resMetadata []push.LabelAdapter
		res.Range(func(k string, v pcommon.Value) bool {
			if k == e.tenantAttribute || k == lokilabels.LabelsHintAttribute || slices.Contains(used, k) {
				return true
			}
			resMetadata = append(resMetadata, push.LabelAdapter{Name: out.labelName(k), Value: valueString(v)})
			return true
		})
		resKey := ""
		if len(resLabels) > 0 {
			// Format sorts in place; the order of resLabels does not matter.
			labelBuf = lokilabels.Format(labelBuf, resLabels)
			resKey = tr.streamKey(labelBuf)
		}

		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			sc = e.newScratch(sc, lrs, len(resMetadata))
			if len(e.recordLabels) == 0 && resKey != "" {
				// Every record of the scope goes to one stream: grow it once.
				idx := tr.stream(resKey)
				tr.req.Streams[idx].Entries = slices.Grow(tr.req.Streams[idx].Entries, lrs.Len())
			}
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				key := resKey
				var recUsed []string
				if len(e.recordLabels) > 0 {
					var recLabels []push.LabelAdapter
					attrs := lr.Attributes()
					for _, ls := range e.recordLabels {
						if v, ok := attrs.Get(ls.attr); ok && !isEmpty(v) {
							if recLabels == nil {
								recLabels = slices.Clone(resLabels)
							}
							// A record attribute overrides a resource label of the same name.
							recLabels = slices.DeleteFunc(recLabels, func(l push.LabelAdapter) bool { return l.Name == ls.label })
							recLabels = append(recLabels, push.LabelAdapter{Name: ls.label, Value: e.labelValue(v, out)})
							recUsed = append(recUsed, ls.attr)
						}
					}
					if recLabels != nil {
						labelBuf = lokilabels.Format(labelBuf, recLabels)
						key = tr.streamKey(labelBuf)
					}
				}
				if key == "" {
					key = unknownServiceKey
				}
				idx := tr.stream(key)
				ent := e.entry(out, &sc, lr, resMetadata, recUsed, now)
				n := entrySize(&ent)
				n += 1 + varintSize(uint64(n)) // field 2 of Stream, length-delimited
				tr.streamBytes[idx] += n
				if size != nil {
					size.entries++
					size.bytes += n
				}
				tr.req.Streams[idx].Entries = append(tr.req.Streams[idx].Entries, ent)
				tr.entries++
			}
		}
	}
	for _, tr := range out.tenants {
		for s := range tr.req.Streams {
			entries := tr.req.Streams[s].Entries
			less := func(a, b push.Entry) int { return a.Timestamp.Compare(b.Timestamp) }
			if !slices.IsSortedFunc(entries, less) {
				slices.SortStableFunc(entries, less)
			}
		}
	}
	return out
}

// unknownServiceKey is the stream of records with no label at all.
const unknownServiceKey = `{service_name="` + lokilabels.UnknownService + `"}`

// streamKey returns the Stream.Labels string for formatted labels: the one
// already in the request when there is one, so that a known stream costs no
// allocation.
func (tr *tenantRequest) streamKey(formatted []byte) string {
	if idx, ok := tr.streamIdx[string(formatted)]; ok {
		return tr.req.Streams[idx].Labels
	}
	return string(formatted)
}

// stream returns the index of the stream with labels key, adding it if new.
func (tr *tenantRequest) stream(key string) int {
	idx, ok := tr.streamIdx[key]
	if !ok {
		idx = len(tr.req.Streams)
		tr.streamIdx[key] = idx
		tr.req.Streams = append(tr.req.Streams, push.Stream{Labels: key})
		tr.streamBytes = append(tr.streamBytes, 0)
	}
	return idx
}

// scratch holds what the entries of one scope are cut from, so that a scope
// costs two allocations rather than three per record: the structured
// metadata of all its records, and the hex form of all their trace and span
// IDs as one string.
type scratch struct {
	md     []push.LabelAdapter
	ids    string
	hexBuf []byte // reused between scopes
}

// newScratch sizes sc for the records of lrs, each of which gets its own
// attributes, the trace, span and severity fields and resMetadata fields.
func (e *encoder) newScratch(sc scratch, lrs plog.LogRecordSlice, resMetadata int) scratch {
	mdLen := 0
	hexBuf := sc.hexBuf[:0]
	for k := 0; k < lrs.Len(); k++ {
		lr := lrs.At(k)
		mdLen += 3 + lr.Attributes().Len() + resMetadata
		if tid := lr.TraceID(); !tid.IsEmpty() {
			hexBuf = hex.AppendEncode(hexBuf, tid[:])
		}
		if sid := lr.SpanID(); !sid.IsEmpty() {
			hexBuf = hex.AppendEncode(hexBuf, sid[:])
		}
	}
	return scratch{md: make([]push.LabelAdapter, 0, mdLen), ids: string(hexBuf), hexBuf: hexBuf}
}

// takeID cuts the next n hex digits out of the scope's IDs.
func (sc *scratch) takeID(n int) string {
	id := sc.ids[:n]
	sc.ids = sc.ids[n:]
	return id
}

func (e *encoder) entry(out *encoded, sc *scratch, lr plog.LogRecord, resMetadata []push.LabelAdapter, recUsed []string, now time.Time) push.Entry {
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	t := now
	if ts != 0 {
		t = ts.AsTime()
	}

	attrs := lr.Attributes()
	// This entry's metadata is cut from the scope's slab and clipped at the
	// end, so that it can never grow into the next entry's.
	md := sc.md[len(sc.md):len(sc.md):min(cap(sc.md), len(sc.md)+3+attrs.Len()+len(resMetadata))]
	hasTrace, hasSpan, hasSeverity := false, false, false
	if tid := lr.TraceID(); !tid.IsEmpty() {
		md = append(md, push.LabelAdapter{Name: lokilabels.MetadataTraceID, Value: sc.takeID(2 * len(tid))})
		hasTrace = true
	}
	if sid := lr.SpanID(); !sid.IsEmpty() {
		md = append(md, push.LabelAdapter{Name: lokilabels.MetadataSpanID, Value: sc.takeID(2 * len(sid))})
		hasSpan = true
	}
	if sev := lr.SeverityText(); sev != "" {
		md = append(md, push.LabelAdapter{Name: lokilabels.MetadataSeverityText, Value: sanitize(sev)})
		hasSeverity = true
	} else if n := lr.SeverityNumber(); n != plog.SeverityNumberUnspecified {
		md = append(md, push.LabelAdapter{Name: lokilabels.MetadataSeverityText, Value: n.String()})
		hasSeverity = true
	}
	attrs.Range(func(k string, v pcommon.Value) bool {
		if len(recUsed) > 0 && slices.Contains(recUsed, k) {
			return true
		}
		name := out.labelName(k)
		if (hasTrace && name == lokilabels.MetadataTraceID) || (hasSpan && name == lokilabels.MetadataSpanID) ||
			(hasSeverity && name == lokilabels.MetadataSeverityText) {
			return true
		}
		md = append(md, push.LabelAdapter{Name: name, Value: valueString(v)})
		return true
	})
	md = slices.Clip(append(md, resMetadata...))
	if len(md) <= cap(sc.md)-len(sc.md) {
		sc.md = sc.md[:len(sc.md)+len(md)]
	}

	if e.structuredMetadata {
		if len(md) == 0 {
			md = nil
		}
		return push.Entry{Timestamp: t, Line: bodyLine(lr.Body()), StructuredMetadata: md}
	}
	return push.Entry{Timestamp: t, Line: lineWithFields(lr.Body(), md)}
}

// labelValue renders an attribute as a label value: valid UTF-8, at most
// maxLabelValue bytes.
func (e *encoder) labelValue(v pcommon.Value, out *encoded) string {
	s := valueString(v)
	if len(s) <= e.maxLabelValue {
		return s
	}
	out.truncatedLabels++
	cut := e.maxLabelValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// isEmpty reports whether v renders as an empty string.
func isEmpty(v pcommon.Value) bool {
	return v.Type() == pcommon.ValueTypeEmpty || (v.Type() == pcommon.ValueTypeStr && v.Str() == "")
}

// valueString renders an attribute value as text, valid UTF-8.
func valueString(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return sanitize(v.Str())
	}
	return sanitize(v.AsString())
}

// sanitize replaces invalid UTF-8 with U+FFFD; valid strings are returned as
// they are, without allocating.
func sanitize(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// bodyLine renders a log body as a Loki line: strings as they are, maps as
// JSON objects, other values as their text form.
func bodyLine(body pcommon.Value) string {
	switch body.Type() {
	case pcommon.ValueTypeStr:
		return sanitize(body.Str())
	case pcommon.ValueTypeEmpty:
		return ""
	case pcommon.ValueTypeMap:
		return string(appendJSONMap(nil, body.Map(), nil))
	default:
		return sanitize(body.AsString())
	}
}

// lineWithFields renders the body with the metadata fields in the line: added
// to a JSON object, or appended as logfmt pairs.
func lineWithFields(body pcommon.Value, fields []push.LabelAdapter) string {
	if body.Type() == pcommon.ValueTypeMap {
		return string(appendJSONMap(nil, body.Map(), fields))
	}
	line := bodyLine(body)
	if len(fields) == 0 {
		return line
	}
	b := make([]byte, 0, len(line)+32*len(fields))
	b = append(b, line...)
	for _, f := range fields {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, f.Name...)
		b = append(b, '=')
		b = appendLogfmtValue(b, f.Value)
	}
	return string(b)
}

func appendLogfmtValue(b []byte, v string) []byte {
	if v != "" && !strings.ContainsAny(v, " \t\r\n\"=\\") {
		return append(b, v...)
	}
	return appendJSONString(b, v)
}

// appendJSONMap writes m as a JSON object (keys in their stored order), then
// the extra fields whose names m does not have.
func appendJSONMap(b []byte, m pcommon.Map, extra []push.LabelAdapter) []byte {
	b = append(b, '{')
	first := true
	m.Range(func(k string, v pcommon.Value) bool {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONValue(b, v)
		return true
	})
	for _, f := range extra {
		if _, ok := m.Get(f.Name); ok {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, f.Name)
		b = append(b, ':')
		b = appendJSONString(b, f.Value)
	}
	return append(b, '}')
}

func appendJSONValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendJSONString(b, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return appendJSONString(b, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeMap:
		return appendJSONMap(b, v.Map(), nil)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		b = append(b, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONValue(b, s.At(i))
		}
		return append(b, ']')
	case pcommon.ValueTypeBytes:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes().AsRaw())
		return append(b, '"')
	default:
		return append(b, "null"...)
	}
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// entrySize is ent.Size(), with the timestamp sized from its seconds and
// nanoseconds directly rather than through a protobuf Timestamp.
func entrySize(ent *push.Entry) int {
	ts := timestampSize(ent.Timestamp)
	n := 1 + varintSize(uint64(ts)) + ts
	if l := len(ent.Line); l > 0 {
		n += 1 + varintSize(uint64(l)) + l
	}
	for _, md := range [2][]push.LabelAdapter{ent.StructuredMetadata, ent.Parsed} {
		for i := range md {
			l := labelSize(&md[i])
			n += 1 + varintSize(uint64(l)) + l
		}
	}
	return n
}

// Protobuf Timestamps hold 0001-01-01 to 9999-12-31 UTC; push.SizeOfStdTime
// is 0 outside, and marshalling fails.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300800 // exclusive
)

// timestampSize is push.SizeOfStdTime(t): a Timestamp message of seconds
// (field 1) and nanos (field 2), each left out when zero.
func timestampSize(t time.Time) int {
	secs := t.Unix()
	if secs < minTimestampSeconds || secs >= maxTimestampSeconds {
		return 0
	}
	n := 0
	if secs != 0 {
		n += 1 + varintSize(uint64(secs))
	}
	if nanos := t.Nanosecond(); nanos != 0 {
		n += 1 + varintSize(uint64(nanos))
	}
	return n
}

// labelSize is l.Size().
func labelSize(l *push.LabelAdapter) int {
	n := 0
	if k := len(l.Name); k > 0 {
		n += 1 + varintSize(uint64(k)) + k
	}
	if v := len(l.Value); v > 0 {
		n += 1 + varintSize(uint64(v)) + v
	}
	return n
}

// varintSize is the bytes of x as a protobuf varint.
func varintSize(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
