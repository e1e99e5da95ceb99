package lokireceiver

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/valyala/fastjson"

	"github.com/braidobs/braid/internal/lokilabels"
)

// errTooLarge marks a body whose decoded size is over the limit (413).
var errTooLarge = errors.New("decoded push request is larger than max_request_body_size")

// stream is one pushed stream, labels parsed.
type stream struct {
	labels  []push.LabelAdapter
	entries []push.Entry
}

// decodeProtobuf reads a snappy-compressed (block format) protobuf
// PushRequest, as Promtail, Alloy and Vector send it. maxSize bounds the
// decompressed size.
func decodeProtobuf(body []byte, maxSize int64) ([]stream, error) {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return nil, fmt.Errorf("decode snappy block: %w", err)
	}
	if int64(n) > maxSize {
		return nil, fmt.Errorf("%w: %d bytes after snappy, limit %d", errTooLarge, n, maxSize)
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("decode snappy block: %w", err)
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("decode protobuf push request: %w", err)
	}
	out := make([]stream, len(req.Streams))
	for i := range req.Streams {
		labels, err := lokilabels.Parse(req.Streams[i].Labels)
		if err != nil {
			return nil, fmt.Errorf("streams[%d]: %w", i, err)
		}
		out[i] = stream{labels: labels, entries: req.Streams[i].Entries}
	}
	return out, nil
}

var jsonParsers fastjson.ParserPool

// decodeJSON reads a JSON push request, as Fluent Bit and Vector send it:
//
//	{"streams":[{"stream":{"label":"value"},"values":[["<unix ns>","<line>",{"key":"value"}]]}]}
//
// The third element of a value, structured metadata, is optional.
func decodeJSON(body []byte) ([]stream, error) {
	p := jsonParsers.Get()
	defer jsonParsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("decode JSON push request: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("decode JSON push request: expected an object, got %s", v.Type())
	}
	sv := v.Get("streams")
	if sv == nil {
		return nil, errors.New(`decode JSON push request: missing "streams"`)
	}
	streams, err := sv.Array()
	if err != nil {
		return nil, fmt.Errorf(`decode JSON push request: "streams" must be an array, got %s`, sv.Type())
	}
	out := make([]stream, len(streams))
	for i, s := range streams {
		if err := decodeJSONStream(s, &out[i]); err != nil {
			return nil, fmt.Errorf("streams[%d]: %w", i, err)
		}
	}
	return out, nil
}

func decodeJSONStream(s *fastjson.Value, out *stream) error {
	if s.Type() != fastjson.TypeObject {
		return fmt.Errorf("expected an object, got %s", s.Type())
	}
	lv := s.Get("stream")
	if lv == nil {
		return errors.New(`missing "stream"`)
	}
	labels, err := jsonStringMap(lv)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	if len(labels) == 0 {
		return fmt.Errorf("stream: %w", lokilabels.ErrEmptySelector)
	}
	slices.SortFunc(labels, func(a, b push.LabelAdapter) int { return strings.Compare(a.Name, b.Name) })
	for i, l := range labels {
		if !lokilabels.IsValidLabelName(l.Name) {
			return fmt.Errorf("stream: invalid label name %q", truncate(l.Name))
		}
		if i > 0 && labels[i-1].Name == l.Name {
			return fmt.Errorf("stream: duplicate label name %s", l.Name)
		}
	}
	out.labels = labels
	vv := s.Get("values")
	if vv == nil {
		return errors.New(`missing "values"`)
	}
	values, err := vv.Array()
	if err != nil {
		return fmt.Errorf(`"values" must be an array, got %s`, vv.Type())
	}
	out.entries = make([]push.Entry, len(values))
	for j, ev := range values {
		if err := decodeJSONEntry(ev, &out.entries[j]); err != nil {
			return fmt.Errorf("values[%d]: %w", j, err)
		}
	}
	return nil
}

func decodeJSONEntry(v *fastjson.Value, e *push.Entry) error {
	parts, err := v.Array()
	if err != nil {
		return fmt.Errorf("expected [timestamp, line(, metadata)], got %s", v.Type())
	}
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("expected [timestamp, line(, metadata)], got %d elements", len(parts))
	}
	ts, err := jsonTimestamp(parts[0])
	if err != nil {
		return err
	}
	line, err := parts[1].StringBytes()
	if err != nil {
		return fmt.Errorf("line must be a string, got %s", parts[1].Type())
	}
	e.Timestamp = ts
	e.Line = string(line)
	if len(parts) == 3 && parts[2].Type() != fastjson.TypeNull {
		md, err := jsonStringMap(parts[2])
		if err != nil {
			return fmt.Errorf("structured metadata: %w", err)
		}
		e.StructuredMetadata = md
	}
	return nil
}

// jsonTimestamp reads Unix nanoseconds from a string ("1700000000000000000",
// as Loki documents) or, leniently, from an integer number.
func jsonTimestamp(v *fastjson.Value) (time.Time, error) {
	var ns int64
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("timestamp must be Unix nanoseconds, got %q", truncate(string(b)))
		}
		ns = n
	case fastjson.TypeNumber:
		n, err := v.Int64()
		if err != nil {
			return time.Time{}, fmt.Errorf("timestamp must be Unix nanoseconds: %w", err)
		}
		ns = n
	default:
		return time.Time{}, fmt.Errorf("timestamp must be a string of Unix nanoseconds, got %s", v.Type())
	}
	return time.Unix(0, ns).UTC(), nil
}

// jsonStringMap reads an object of string values into sorted labels.
func jsonStringMap(v *fastjson.Value) ([]push.LabelAdapter, error) {
	obj, err := v.Object()
	if err != nil {
		return nil, fmt.Errorf("expected an object of strings, got %s", v.Type())
	}
	out := make([]push.LabelAdapter, 0, obj.Len())
	var visitErr error
	obj.Visit(func(k []byte, val *fastjson.Value) {
		if visitErr != nil {
			return
		}
		s, err := val.StringBytes()
		if err != nil {
			visitErr = fmt.Errorf("value of %q must be a string, got %s", truncate(string(k)), val.Type())
			return
		}
		out = append(out, push.LabelAdapter{Name: string(k), Value: string(s)})
	})
	return out, visitErr
}

func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
