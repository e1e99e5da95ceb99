package correlate

import (
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// AttrLogIOStream is the stream a container log line was written to
// (stdout or stderr), set by the file log receiver's container parser.
const AttrLogIOStream = "log.iostream"

// MultilineConfig bounds the records that JoinContinuations makes.
type MultilineConfig struct {
	// MaxLines is the most lines in one record; the line after starts a
	// record of its own.
	MaxLines int
	// MaxBytes is the most bytes in one record's body, newlines included.
	MaxBytes int
}

// MaxContinuationGap is the longest time between a line and the one before
// it for the line to continue that record: a stack trace is written at
// once, so a line that comes later belongs to something else.
const MaxContinuationGap = time.Second

// JoinContinuations joins, in place, each container log line of lrs that
// continues the record before it (ContinuesRecord) to that record, with a
// newline between them, and returns how many lines it joined. A line joins
// only the record just before it in lrs, from the same file
// (log.file.path) and stream (log.iostream), written at most
// MaxContinuationGap after the line before it, within c's bounds; a line
// that already has a trace ID, or a record whose body is not a string, is
// never joined. The record keeps its first line's attributes, timestamps
// and trace context. It allocates only when it joins.
func JoinContinuations(lrs plog.LogRecordSlice, c MultilineConfig) int {
	if lrs.Len() < 2 {
		return 0
	}
	var (
		head                 plog.LogRecord
		hasHead              bool
		headBody             string
		headPath, headStream string
		lines, size          int
		last                 pcommon.Timestamp
		parts                []string // headBody and the lines joined to it
		joined               int
	)
	flush := func() {
		if len(parts) > 0 {
			head.Body().SetStr(strings.Join(parts, "\n"))
			parts = parts[:0]
		}
	}
	lrs.RemoveIf(func(lr plog.LogRecord) bool {
		path, hasPath := lr.Attributes().Get(AttrLogFilePath)
		body := lr.Body()
		isLine := hasPath && path.Type() == pcommon.ValueTypeStr && body.Type() == pcommon.ValueTypeStr
		ts := lr.Timestamp()
		if isLine && hasHead && lr.TraceID().IsEmpty() {
			line := body.Str()
			if lines < c.MaxLines && size+1+len(line) <= c.MaxBytes &&
				path.Str() == headPath && stringAttr(lr.Attributes(), AttrLogIOStream) == headStream &&
				within(last, ts, MaxContinuationGap) && ContinuesRecord(line) {
				if len(parts) == 0 {
					parts = append(parts, headBody)
				}
				parts = append(parts, line)
				lines++
				size += 1 + len(line)
				last = ts
				joined++
				return true
			}
		}
		flush()
		hasHead = isLine
		if isLine {
			head, headBody = lr, body.Str()
			headPath, headStream = path.Str(), stringAttr(lr.Attributes(), AttrLogIOStream)
			lines, size, last = 1, len(headBody), ts
		}
		return false
	})
	flush()
	return joined
}

// within reports whether b is at most gap after a; unset times are
// taken as close.
func within(a, b pcommon.Timestamp, gap time.Duration) bool {
	if a == 0 || b == 0 {
		return true
	}
	return b < a || time.Duration(b-a) <= gap
}

func stringAttr(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// A stack trace written to a container log arrives as one log line per
// frame: the container runtime splits what the application wrote at each
// newline. ContinuesRecord tells the lines that carry on the record before
// them (the frames, the "Caused by:" of a chained exception, the exception
// line under a logged message) from the lines that start a record of their
// own, for the stack traces that Java, Python and .NET print by default.
// Joining them makes the stack trace one record, which keeps the trace
// context of its first line.

// ContinuesRecord reports whether line, one line of a container log, carries
// on the record before it rather than starting its own:
//
//   - an indented line: Java's "\tat …", "\t... 3 more" and "\tSuppressed:",
//     Python's `  File "…", line 3, in f` and its source lines, .NET's
//     "   at …" and " ---> System.…";
//   - an empty line (Python separates chained tracebacks with them);
//   - Java's "Caused by: …";
//   - Python's "Traceback (most recent call last):" and the sentences that
//     chain tracebacks ("During handling of the above exception, …", "The
//     above exception was the direct cause of …");
//   - .NET's "--- End of … ---";
//   - an exception line: a qualified or compound type name ending in
//     Exception, Error or Throwable, alone or followed by a colon
//     (java.lang.IllegalStateException: …, ValueError: …,
//     System.InvalidOperationException: …). A bare "Error: …" or
//     "Exception: …" starts a record: applications print those as messages.
//
// It does not allocate.
func ContinuesRecord(line string) bool {
	if line == "" {
		return true
	}
	switch line[0] {
	case ' ', '\t':
		return true
	case 'C':
		if strings.HasPrefix(line, "Caused by: ") {
			return true
		}
	case 'T':
		if line == "Traceback (most recent call last):" ||
			strings.HasPrefix(line, "The above exception was the direct cause of the following exception") {
			return true
		}
	case 'D':
		if strings.HasPrefix(line, "During handling of the above exception, another exception occurred") {
			return true
		}
	case '-':
		return strings.HasPrefix(line, "--- End of ")
	}
	return isExceptionLine(line)
}

// isExceptionLine reports whether line starts with an exception type name
// (dotted segments of letters, digits, _ and $, the last one ending in
// Exception, Error or Throwable and either qualified or longer than that
// suffix) followed by a colon or nothing.
func isExceptionLine(line string) bool {
	end := 0
	lastSeg := 0
	for end < len(line) {
		c := line[end]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '$':
		case c >= '0' && c <= '9':
			if end == lastSeg {
				return false // a segment starts with a letter
			}
		case c == '.':
			if end == lastSeg {
				return false // empty segment
			}
			lastSeg = end + 1
		default:
			goto done
		}
		end++
	}
done:
	if end == 0 || end == lastSeg || (end < len(line) && line[end] != ':') {
		return false
	}
	seg := line[lastSeg:end]
	qualified := lastSeg > 0
	for _, suffix := range [...]string{"Exception", "Error", "Throwable"} {
		if strings.HasSuffix(seg, suffix) && (qualified || len(seg) > len(suffix)) {
			// The last segment of a type name starts with a capital.
			return seg[0] >= 'A' && seg[0] <= 'Z'
		}
	}
	return false
}
