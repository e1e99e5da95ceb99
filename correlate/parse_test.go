package correlate

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// naiveHexRun is nextHexRun written the obvious way, a byte at a time.
func naiveHexRun(s string, from int) (int, int) {
	for i := from; i < len(s); {
		if !isHex(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isHex(s[j]) {
			j++
		}
		if j-i >= minHexRun {
			return i, j
		}
		i = j
	}
	return -1, -1
}

func TestNextHexRun(t *testing.T) {
	id16 := "4bf92f3577b34da6"
	for _, tc := range []struct {
		name   string
		s      string
		lo, hi int
	}{
		{"empty", "", -1, -1},
		{"exactly sixteen", id16, 0, 16},
		{"fifteen", id16[:15], -1, -1},
		{"sixteen at the start", id16 + " rest of the line", 0, 16},
		{"sixteen at the end", "request done trace=" + id16, 19, 35},
		{"sixteen in the middle", "a " + id16 + " b", 2, 18},
		{"thirty-two", "trace_id=4bf92f3577b34da6a3ce929d0e0e4736", 9, 41},
		{"runs of fifteen split by a dash", id16[:15] + "-" + id16[:15], -1, -1},
		{"a run straddling two probes", "xxxxxxxxxx" + id16 + "yyyyyyyyyy", 10, 26},
		{"letters a to f in words", "added a decade of faced beads", -1, -1},
		{"uppercase hex", "ID " + strings.ToUpper(id16), 3, 19},
		{"uuid", "request 123e4567-e89b-12d3-a456-426614174000 done", -1, -1},
		{"timestamp digits", "2024-05-01T10:00:00.123456789Z", -1, -1},
		{"long digit run", "order 12345678901234567 placed", 6, 23},
		{"hex run ends the string after a short run", "abc-" + id16, 4, 20},
		{"the first of two runs", id16 + "-" + id16, 0, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if lo, hi := nextHexRun(tc.s, 0); lo != tc.lo || hi != tc.hi {
				t.Fatalf("nextHexRun(%q) = %d, %d, want %d, %d", tc.s, lo, hi, tc.lo, tc.hi)
			}
			if lo, hi := naiveHexRun(tc.s, 0); lo != tc.lo || hi != tc.hi {
				t.Fatalf("naiveHexRun(%q) = %d, %d, want %d, %d", tc.s, lo, hi, tc.lo, tc.hi)
			}
		})
	}
}

// FuzzHexRunFilter holds the filter in front of the text scanners to what
// it promises: it finds the runs the byte-at-a-time walk finds, and it
// never turns away a line in which the scanners find a trace ID.
func FuzzHexRunFilter(f *testing.F) {
	for _, s := range []string{
		"",
		"4bf92f3577b34da6",
		"trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
		`{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","msg":"x"}`,
		"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"b3=4bf92f3577b34da6-00f067aa0ba902b7-1",
		"[4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7]",
		"added a decade of faced beads",
		"dd.trace_id=1234567890123456789",
		"uber-trace-id: 4bf92f3577b34da6:00f067aa0ba902b7:0:1",
		"xray_trace_id=1-5759e988-bd862e3fe1be46a994272793",
		"[app,4bf92f3577b34da6,00f067aa0ba902b7]",
		"NR-LINKING|g|h|4bf92f3577b34da6a3ce929d0e0e4736||x|",
	} {
		f.Add(s)
	}
	x := defaultExtractor
	f.Fuzz(func(t *testing.T, s string) {
		for from := 0; ; {
			lo, hi := nextHexRun(s, from)
			wlo, whi := naiveHexRun(s, from)
			if lo != wlo || hi != whi {
				t.Fatalf("nextHexRun(%q, %d) = %d, %d; byte by byte %d, %d", s, from, lo, hi, wlo, whi)
			}
			if lo < 0 {
				break
			}
			from = hi
		}
		var tc TraceContext
		if lo, _ := nextHexRun(s, 0); x.scanString(s, &tc) && lo < 0 {
			t.Fatalf("the filter would drop %q, which holds trace ID %s", s, tc.TraceID)
		}
	})
}

func TestScanHexRunsTakesCommonLines(t *testing.T) {
	const tid, sid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, tc := range []struct {
		name string
		s    string
		// quick: the hex runs alone answer for the line.
		quick bool
	}{
		{"flat json", `{"level":"info","msg":"order placed","order_id":1042,"trace_id":"` + tid + `","span_id":"` + sid + `"}`, true},
		{"flat json, spaces", `{ "traceId" : "` + tid + `" , "spanId" : "` + sid + `" }`, true},
		{"flat json, unknown key", `{"request_id":"` + tid + `"}`, true},
		{"logfmt", `level=info msg="payment authorized" trace_id=` + tid + ` span_id=` + sid, true},
		{"key colon value", `trace_id: ` + tid + ` span_id: ` + sid + ` - order placed`, true},
		{"quoted value", `trace_id="` + tid + `"`, true},
		{"commit hash in text", `deployed commit=` + tid + `abcd1234`, true},
		{"nested json", `{"contextMap":{"trace_id":"` + tid + `"}}`, false},
		{"json with an array", `{"tags":["a"],"trace_id":"` + tid + `"}`, false},
		{"escaped json in a string", `{"msg":"{"trace_id":"` + tid + `"}"}`, false},
		{"traceparent", `traceparent=00-` + tid + `-` + sid + `-01`, false},
		{"spring bracketed", `INFO [orders] [` + tid + `-` + sid + `] placed`, false},
		{"bare run", `request ` + tid + ` done`, false},
		{"json number", `{"trace_id":12345678901234567890}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := nextHexRun(tc.s, 0)
			if lo < 0 {
				t.Fatalf("no hex run in %q", tc.s)
			}
			var st scanState
			if got := defaultExtractor.scanHexRuns(tc.s, lo, hi, &st); got != tc.quick {
				t.Fatalf("scanHexRuns(%q) = %v, want %v", tc.s, got, tc.quick)
			}
		})
	}
}

// FuzzScanHexRuns holds the short way to the full scan: whenever the hex
// runs alone answer for a line, the full scan finds the same IDs from the
// same source. JSON-looking lines that are not valid JSON are left out:
// there both scans guess at broken structure, and may guess differently.
func FuzzScanHexRuns(f *testing.F) {
	const tid, sid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, s := range []string{
		`{"trace_id":"` + tid + `","span_id":"` + sid + `"}`,
		`{"span_id":"` + sid + `","trace_id":"0000000000000000","traceId":"` + tid + `"}`,
		`{"msg":"a,"trace_id":"` + tid + `"","x":1}`,
		`trace_id=` + tid + ` span_id=` + sid,
		`span_id=trace_id=` + tid,
		`"trace_id"=` + tid,
		`b3=` + tid + `-` + sid + `-1`,
		`x=` + sid + `-00-` + tid + `-` + sid + `-01`,
		`trace_id: '` + sid + `' span_id:` + sid,
		`{"a":"b"} trace_id=` + tid,
		// Other tracing systems' shapes.
		"dd.trace_id=1234567890123456789 dd.span_id=987654321098765432",
		`{"dd.trace_id":"1234567890123456789","dd.span_id":987654321098765432}`,
		"uber-trace-id=" + sid + ":" + sid + ":0:1",
		"uber-trace-id=" + sid + "%3A" + sid + "%3A0%3A1",
		"X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=" + sid + ";Sampled=1",
		"root=" + sid + ";trace_id=" + tid,
		"AWS-XRAY-TRACE-ID: 1-5759e988-bd862e3fe1be46a994272793@" + sid,
		"[orders," + tid + "," + sid + ",true]",
		"NR-LINKING|guid|host|" + tid + "|" + sid + "|orders|",
		`{"logging.googleapis.com/trace":"projects/p/traces/` + tid + `"}`,
		"trace.id=" + tid + " transaction.id=" + sid,
		"[!dt dt.trace_id=" + tid + ",dt.span_id=" + sid + "]",
	} {
		f.Add(s)
	}
	x := defaultExtractor
	f.Fuzz(func(t *testing.T, s string) {
		lo, hi := nextHexRun(s, 0)
		if lo < 0 {
			return
		}
		var st scanState
		if !x.scanHexRuns(s, lo, hi, &st) {
			return
		}
		if trimmed := strings.TrimLeft(s, " \t"); strings.HasPrefix(trimmed, "{") && !json.Valid([]byte(s)) {
			return
		}
		var quick, full TraceContext
		quickOK := st.result(&quick)
		fullOK := x.scanString(s, &full)
		if quickOK != fullOK || quick != full {
			t.Fatalf("in %q the hex runs give %v %+v, the full scan %v %+v", s, quickOK, quick, fullOK, full)
		}
	})
}

// naiveStringEnd finds the closing quote the plain way: the first quote
// not preceded by an odd run of backslashes.
func naiveStringEnd(s string, start int) int {
	for k := start; k < len(s); k++ {
		if s[k] != '"' {
			continue
		}
		bs := 0
		for b := k - 1; b >= start && s[b] == '\\'; b-- {
			bs++
		}
		if bs%2 == 0 {
			return k
		}
	}
	return -1
}

func FuzzStringEnd(f *testing.F) {
	for _, s := range []string{
		`plain"`, `a\"b"`, `ab\\\\"`, `\\\"`, `no end`, `0123456789abcdef"`,
		`01234567\"89abcdef"x`, `\`, `"`, `0123456\`, `01234567890123456789\\"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := stringEnd(s, 0), naiveStringEnd(s, 0); got != want {
			t.Fatalf("stringEnd(%q) = %d, want %d", s, got, want)
		}
	})
}

// FuzzDecodeHex holds the eight-at-a-time decoding to encoding/hex.
func FuzzDecodeHex(f *testing.F) {
	for _, s := range []string{
		"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "0000000000000000",
		"4BF92F3577B34DA6", "4bf92f3577b34da/", "4bf92f3577b34da:", "4bf92f3577b34da@",
		"4bf92f3577b34daG", "4bf92f3577b34da`", "4bf92f3577b34dag", "\x80bf92f3577b34da6",
		"0000000000000001", "ffffffffffffffff", "4b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s)%2 != 0 {
			return
		}
		want, err := hex.DecodeString(s)
		wantOK := err == nil && strings.Trim(string(want), "\x00") != ""
		got := make([]byte, len(s)/2)
		ok := decodeHex(got, s)
		if ok != wantOK {
			t.Fatalf("decodeHex(%q) = %v, want %v", s, ok, wantOK)
		}
		if ok && string(got) != string(want) {
			t.Fatalf("decodeHex(%q) = %x, want %x", s, got, want)
		}
	})
}
