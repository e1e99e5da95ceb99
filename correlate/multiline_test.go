package correlate

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestContinuesRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want bool
	}{
		// Java (Logback, Log4j 2, java.util.logging print the same trace).
		{"java frame", "\tat com.shop.payment.Charger.charge(Charger.java:42)", true},
		{"java more", "\t... 23 more", true},
		{"java common frames", "\t... 5 common frames omitted", true},
		{"java caused by", "Caused by: java.net.SocketTimeoutException: Read timed out", true},
		{"java suppressed", "\tSuppressed: java.io.IOException: close failed", true},
		{"java exception line", "java.lang.IllegalStateException: card declined", true},
		{"java exception without message", "java.lang.NullPointerException", true},
		{"java inner class", "com.shop.Api$NotFoundException: order 7", true},
		{"java error", "java.lang.OutOfMemoryError: Java heap space", true},
		{"java uncaught starts a record", `Exception in thread "main" java.lang.RuntimeException: boom`, false},
		// Python (logging's exception(), the default traceback).
		{"python traceback", "Traceback (most recent call last):", true},
		{"python file", `  File "/app/shop/payment.py", line 12, in charge`, true},
		{"python source", "    raise ValueError(\"card declined\")", true},
		{"python value error", "ValueError: card declined", true},
		{"python qualified", "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)", true},
		{"python chained cause", "The above exception was the direct cause of the following exception:", true},
		{"python chained during", "During handling of the above exception, another exception occurred:", true},
		{"python empty separator", "", true},
		// .NET (Exception.ToString, as ILogger's console and JSON print it).
		{"dotnet exception", "System.InvalidOperationException: Sequence contains no elements", true},
		{"dotnet frame", "   at Shop.Payment.Charge(Order order) in /src/Payment.cs:line 42", true},
		{"dotnet inner", " ---> System.TimeoutException: The operation has timed out.", true},
		{"dotnet end of inner", "   --- End of inner exception stack trace ---", true},
		{"dotnet end of stack", "--- End of stack trace from previous location ---", true},
		// Lines that start records of their own.
		{"json line", `{"level":"error","msg":"charge failed","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`, false},
		{"logfmt line", `level=error msg="charge failed"`, false},
		{"plain message", "2026-12-03 10:00:00.123 ERROR [payment,4bf92f3577b34da6,00f067aa0ba902b7] charge failed", false},
		{"bare error message", "Error: connection refused", false},
		{"bare exception message", "Exception: something odd", false},
		{"lowercase type", "myError: not a type", false},
		{"type then text", "ValueError happened here", false},
		{"word ending in error", "Terror", false},
		{"digit first segment", "1Error: no", false},
		{"empty segment", "java..lang.Exception: no", false},
		{"trailing dot", "java.lang.: no", false},
		{"dashes", "--- separator ---", false},
		{"caused without colon", "Caused by nothing", false},
		{"go panic", "panic: runtime error: index out of range", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ContinuesRecord(tc.line); got != tc.want {
				t.Errorf("ContinuesRecord(%q) = %v, want %v", tc.line, got, tc.want)
			}
		})
	}
}

// line is one container log line as the file log receiver makes it.
type line struct {
	path, stream, body string
	at                 time.Duration // after the first line
	traceID            bool
}

func lines(ls ...line) plog.LogRecordSlice {
	s := plog.NewLogRecordSlice()
	base := pcommon.NewTimestampFromTime(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	for _, l := range ls {
		lr := s.AppendEmpty()
		if l.path != "" {
			lr.Attributes().PutStr(AttrLogFilePath, l.path)
		}
		if l.stream != "" {
			lr.Attributes().PutStr(AttrLogIOStream, l.stream)
		}
		lr.Body().SetStr(l.body)
		lr.SetTimestamp(base + pcommon.Timestamp(l.at))
		if l.traceID {
			lr.SetTraceID(pcommon.TraceID{1})
		}
	}
	return s
}

const podLog = "/var/log/pods/shop_payment-7d9f_1a2b/payment/0.log"

func TestJoinContinuations(t *testing.T) {
	big := MultilineConfig{MaxLines: 1000, MaxBytes: 1 << 20}
	for _, tc := range []struct {
		name   string
		cfg    MultilineConfig
		in     []line
		want   []string
		joined int
	}{
		{
			name: "java stack trace under its message",
			cfg:  big,
			in: []line{
				{path: podLog, stream: "stdout", body: "10:00:00.123 ERROR [payment,4bf92f3577b34da6,00f067aa0ba902b7] charge failed"},
				{path: podLog, stream: "stdout", body: "java.lang.IllegalStateException: card declined"},
				{path: podLog, stream: "stdout", body: "\tat com.shop.Charger.charge(Charger.java:42)"},
				{path: podLog, stream: "stdout", body: "Caused by: java.net.SocketTimeoutException: Read timed out"},
				{path: podLog, stream: "stdout", body: "\t... 3 more"},
				{path: podLog, stream: "stdout", body: "10:00:00.200 INFO next request"},
			},
			want: []string{
				"10:00:00.123 ERROR [payment,4bf92f3577b34da6,00f067aa0ba902b7] charge failed\n" +
					"java.lang.IllegalStateException: card declined\n" +
					"\tat com.shop.Charger.charge(Charger.java:42)\n" +
					"Caused by: java.net.SocketTimeoutException: Read timed out\n" +
					"\t... 3 more",
				"10:00:00.200 INFO next request",
			},
			joined: 4,
		},
		{
			name: "python traceback",
			cfg:  big,
			in: []line{
				{path: podLog, stream: "stderr", body: "ERROR:shop.payment:charge failed"},
				{path: podLog, stream: "stderr", body: "Traceback (most recent call last):"},
				{path: podLog, stream: "stderr", body: `  File "/app/payment.py", line 12, in charge`},
				{path: podLog, stream: "stderr", body: "    raise ValueError(\"card declined\")"},
				{path: podLog, stream: "stderr", body: "ValueError: card declined"},
			},
			want:   []string{"ERROR:shop.payment:charge failed\nTraceback (most recent call last):\n  File \"/app/payment.py\", line 12, in charge\n    raise ValueError(\"card declined\")\nValueError: card declined"},
			joined: 4,
		},
		{
			name: "other stream is not joined",
			cfg:  big,
			in: []line{
				{path: podLog, stream: "stdout", body: "charge failed"},
				{path: podLog, stream: "stderr", body: "\tat com.shop.Charger.charge(Charger.java:42)"},
			},
			want: []string{"charge failed", "\tat com.shop.Charger.charge(Charger.java:42)"},
		},
		{
			name: "other file is not joined",
			cfg:  big,
			in: []line{
				{path: podLog, body: "charge failed"},
				{path: "/var/log/pods/shop_cart-1_9f/cart/0.log", body: "\tat x"},
			},
			want: []string{"charge failed", "\tat x"},
		},
		{
			name: "records without a file path are whole already",
			cfg:  big,
			in:   []line{{body: "charge failed"}, {body: "\tat x"}},
			want: []string{"charge failed", "\tat x"},
		},
		{
			name: "a line with its own trace ID is not joined",
			cfg:  big,
			in:   []line{{path: podLog, body: "charge failed"}, {path: podLog, body: "\tat x", traceID: true}},
			want: []string{"charge failed", "\tat x"},
		},
		{
			name: "a line written later belongs to something else",
			cfg:  big,
			in: []line{
				{path: podLog, body: "charge failed"},
				{path: podLog, body: "\tat x", at: 500 * time.Millisecond},
				{path: podLog, body: "\tat y", at: 500*time.Millisecond + MaxContinuationGap + 1},
			},
			want:   []string{"charge failed\n\tat x", "\tat y"},
			joined: 1,
		},
		{
			name: "at most max_lines",
			cfg:  MultilineConfig{MaxLines: 2, MaxBytes: 1 << 20},
			in: []line{
				{path: podLog, body: "charge failed"},
				{path: podLog, body: "\tat a"},
				{path: podLog, body: "\tat b"},
				{path: podLog, body: "\tat c"},
			},
			want:   []string{"charge failed\n\tat a", "\tat b\n\tat c"},
			joined: 2,
		},
		{
			name: "at most max_bytes",
			cfg:  MultilineConfig{MaxLines: 100, MaxBytes: len("charge failed\n\tat a")},
			in: []line{
				{path: podLog, body: "charge failed"},
				{path: podLog, body: "\tat a"},
				{path: podLog, body: "\tat b"},
			},
			want:   []string{"charge failed\n\tat a", "\tat b"},
			joined: 1,
		},
		{
			name: "a continuation first in the request stays its own record",
			cfg:  big,
			in:   []line{{path: podLog, body: "\tat a"}, {path: podLog, body: "\tat b"}},
			want: []string{"\tat a\n\tat b"}, joined: 1,
		},
		{
			name: "single lines untouched",
			cfg:  big,
			in:   []line{{path: podLog, body: "one"}, {path: podLog, body: "two"}, {path: podLog, body: "three"}},
			want: []string{"one", "two", "three"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lrs := lines(tc.in...)
			first := lrs.At(0).Timestamp()
			joined := JoinContinuations(lrs, tc.cfg)
			var got []string
			for i := 0; i < lrs.Len(); i++ {
				got = append(got, lrs.At(i).Body().Str())
			}
			if strings.Join(got, "\x00") != strings.Join(tc.want, "\x00") {
				t.Errorf("records:\n%q\nwant\n%q", got, tc.want)
			}
			if joined != tc.joined {
				t.Errorf("joined %d, want %d", joined, tc.joined)
			}
			if lrs.At(0).Timestamp() != first {
				t.Errorf("the first record's timestamp changed")
			}
		})
	}
}

// A joined stack trace carries the trace context of its first line.
func TestJoinedStackTraceKeepsItsFirstLinesTraceContext(t *testing.T) {
	lrs := lines(
		line{path: podLog, body: `{"level":"error","msg":"charge failed","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`},
		line{path: podLog, body: "java.lang.IllegalStateException: card declined"},
		line{path: podLog, body: "\tat com.shop.Charger.charge(Charger.java:42)"},
	)
	JoinContinuations(lrs, MultilineConfig{MaxLines: 100, MaxBytes: 1 << 16})
	if lrs.Len() != 1 {
		t.Fatalf("%d records, want 1", lrs.Len())
	}
	x, err := NewExtractor(DefaultExtractorConfig())
	if err != nil {
		t.Fatal(err)
	}
	tc := x.Extract(lrs.At(0))
	if tc.Source != SourceBody || tc.TraceID.String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("Extract = %+v, want the first line's trace ID from the body", tc)
	}
}

func BenchmarkJoinContinuations(b *testing.B) {
	var singles []line
	for range 100 {
		singles = append(singles, line{path: podLog, stream: "stdout", body: `{"level":"info","msg":"request served","status":200}`})
	}
	var traces []line
	for range 10 {
		traces = append(traces, line{path: podLog, stream: "stdout", body: "ERROR charge failed"},
			line{path: podLog, stream: "stdout", body: "java.lang.IllegalStateException: card declined"})
		for range 8 {
			traces = append(traces, line{path: podLog, stream: "stdout", body: "\tat com.shop.Charger.charge(Charger.java:42)"})
		}
	}
	cfg := MultilineConfig{MaxLines: 1000, MaxBytes: 1 << 20}
	for _, bc := range []struct {
		name string
		in   []line
	}{{"single_lines", singles}, {"stack_traces", traces}} {
		b.Run(bc.name, func(b *testing.B) {
			src := lines(bc.in...)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				b.StopTimer()
				lrs := plog.NewLogRecordSlice()
				src.CopyTo(lrs)
				b.StartTimer()
				JoinContinuations(lrs, cfg)
			}
			b.ReportMetric(float64(len(bc.in)*n)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

func FuzzContinuesRecord(f *testing.F) {
	for _, s := range []string{"\tat x", "Caused by: a", "ValueError: x", "java.lang.Exception", "a.b.", "Error: x", "", "--- End of x", "T", "D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ContinuesRecord(s)
		if !ContinuesRecord(" "+s) || !ContinuesRecord("\t"+s) {
			t.Errorf("an indented line must continue: %q", s)
		}
		if strings.HasPrefix(s, "{") && got {
			t.Errorf("a JSON line continued a record: %q", s)
		}
	})
}
