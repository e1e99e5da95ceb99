package correlate

import (
	"strings"
	"testing"
)

// naiveHexRun is hasHexRun written the obvious way, a byte at a time.
func naiveHexRun(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			run = 0
			continue
		}
		if run++; run >= minHexRun {
			return true
		}
	}
	return false
}

func TestHasHexRun(t *testing.T) {
	id16 := "4bf92f3577b34da6"
	for _, tc := range []struct {
		name string
		s    string
		want bool
	}{
		{"empty", "", false},
		{"exactly sixteen", id16, true},
		{"fifteen", id16[:15], false},
		{"sixteen at the start", id16 + " rest of the line", true},
		{"sixteen at the end", "request done trace=" + id16, true},
		{"sixteen in the middle", "a " + id16 + " b", true},
		{"thirty-two", "trace_id=4bf92f3577b34da6a3ce929d0e0e4736", true},
		{"runs of fifteen split by a dash", id16[:15] + "-" + id16[:15], false},
		{"a run straddling two probes", "xxxxxxxxxx" + id16 + "yyyyyyyyyy", true},
		{"letters a to f in words", "added a decade of faced beads", false},
		{"uppercase hex", "ID " + strings.ToUpper(id16), true},
		{"uuid", "request 123e4567-e89b-12d3-a456-426614174000 done", false},
		{"timestamp digits", "2024-05-01T10:00:00.123456789Z", false},
		{"long digit run", "order 12345678901234567 placed", true},
		{"hex run ends the string after a short run", "abc-" + id16, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasHexRun(tc.s); got != tc.want {
				t.Fatalf("hasHexRun(%q) = %v, want %v", tc.s, got, tc.want)
			}
			if got := naiveHexRun(tc.s); got != tc.want {
				t.Fatalf("naiveHexRun(%q) = %v, want %v", tc.s, got, tc.want)
			}
		})
	}
}

// FuzzHexRunFilter holds the filter in front of the text scanners to what
// it promises: it agrees with the byte-at-a-time answer, and it never turns
// away a line in which the scanners find a trace ID.
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
	} {
		f.Add(s)
	}
	x := defaultExtractor
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := hasHexRun(s), naiveHexRun(s); got != want {
			t.Fatalf("hasHexRun(%q) = %v, byte by byte %v", s, got, want)
		}
		var tc TraceContext
		if x.scanString(s, &tc) && !hasHexRun(s) {
			t.Fatalf("the filter would drop %q, which holds trace ID %s", s, tc.TraceID)
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
