package walstorageextension

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A record is one call's worth of mutations:
//
//	[length u32][crc32c u32][payload]
//
// little-endian, the CRC (Castagnoli) over the payload only. The payload is
//
//	uvarint op count, then per op: type byte, uvarint key length, key and,
//	for a set, uvarint value length, value.
//
// A length of zero is never written (a payload holds at least its count),
// so zeroed file tails, which some filesystems leave after a machine crash,
// read as corruption rather than as empty records.
const (
	headerSize = 8

	opSet    byte = 1
	opDelete byte = 2

	// maxRecordSize bounds one call's payload; the length field is a u32.
	maxRecordSize = 1<<32 - 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a record that cannot be read back: a bad length, a CRC
// mismatch or a payload that does not decode.
var errCorrupt = errors.New("corrupt record")

// errTorn marks a record cut short by the end of the segment.
var errTorn = errors.New("torn record")

// errZeroLength is the corruption a zeroed file tail shows.
var errZeroLength = fmt.Errorf("%w: zero length", errCorrupt)

// recordEncoder builds one record in a buffer reused across calls.
type recordEncoder struct {
	buf []byte
}

// reset starts a record of n ops.
func (e *recordEncoder) reset(n int) {
	e.buf = append(e.buf[:0], make([]byte, headerSize)...)
	e.buf = binary.AppendUvarint(e.buf, uint64(n))
}

// set appends a set op and returns the offset of the value in the record.
func (e *recordEncoder) set(key string, value []byte) int {
	e.buf = append(e.buf, opSet)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(key)))
	e.buf = append(e.buf, key...)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(value)))
	off := len(e.buf)
	e.buf = append(e.buf, value...)
	return off
}

func (e *recordEncoder) delete(key string) {
	e.buf = append(e.buf, opDelete)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(key)))
	e.buf = append(e.buf, key...)
}

// finish fills the header and returns the whole record.
func (e *recordEncoder) finish() ([]byte, error) {
	n := len(e.buf) - headerSize
	if n > maxRecordSize {
		return nil, fmt.Errorf("record of %d bytes exceeds the limit of %d", n, maxRecordSize)
	}
	binary.LittleEndian.PutUint32(e.buf[0:4], uint32(n))
	binary.LittleEndian.PutUint32(e.buf[4:8], crc32.Checksum(e.buf[headerSize:], castagnoli))
	return e.buf, nil
}

// decodedOp is one op of a payload; valueOff is relative to the payload.
type decodedOp struct {
	typ      byte
	key      []byte
	valueOff int
	value    []byte
}

// decodePayload calls fn for each op of a payload, in order. It checks the
// whole payload before the first call, so a payload that does not decode
// applies nothing.
func decodePayload(p []byte, fn func(op decodedOp)) error {
	if err := walkPayload(p, nil); err != nil {
		return err
	}
	return walkPayload(p, fn)
}

func walkPayload(p []byte, fn func(op decodedOp)) error {
	n, w := binary.Uvarint(p)
	if w <= 0 {
		return fmt.Errorf("%w: bad op count", errCorrupt)
	}
	pos := w
	for i := uint64(0); i < n; i++ {
		if pos >= len(p) {
			return fmt.Errorf("%w: payload ends after %d of %d ops", errCorrupt, i, n)
		}
		var op decodedOp
		op.typ = p[pos]
		pos++
		if op.typ != opSet && op.typ != opDelete {
			return fmt.Errorf("%w: unknown op type %d", errCorrupt, op.typ)
		}
		kl, w := binary.Uvarint(p[pos:])
		if w <= 0 || kl > uint64(len(p)-pos-w) {
			return fmt.Errorf("%w: bad key length", errCorrupt)
		}
		pos += w
		op.key = p[pos : pos+int(kl)]
		pos += int(kl)
		if op.typ == opSet {
			vl, w := binary.Uvarint(p[pos:])
			if w <= 0 || vl > uint64(len(p)-pos-w) {
				return fmt.Errorf("%w: bad value length", errCorrupt)
			}
			pos += w
			op.valueOff = pos
			op.value = p[pos : pos+int(vl)]
			pos += int(vl)
		}
		if fn != nil {
			fn(op)
		}
	}
	if pos != len(p) {
		return fmt.Errorf("%w: %d bytes after the last op", errCorrupt, len(p)-pos)
	}
	return nil
}

// segmentReader reads the records of one segment in order.
type segmentReader struct {
	r       *bufio.Reader
	size    int64 // bytes in the segment, bounds the lengths believed
	off     int64 // offset of the next record
	payload []byte
	hdr     [headerSize]byte
}

func newSegmentReader(r io.Reader, size int64) *segmentReader {
	return &segmentReader{r: bufio.NewReaderSize(r, int(min(max(size, 4096), 1<<20))), size: size}
}

// next returns the next record's payload (valid until the following call)
// and its offset in the segment. At a clean end it returns io.EOF; a record
// cut short is errTorn, a bad one errCorrupt. After an error, off is where
// the good part of the segment ends.
func (sr *segmentReader) next() (payload []byte, off int64, err error) {
	if sr.off == sr.size {
		return nil, sr.off, io.EOF
	}
	if sr.size-sr.off < headerSize {
		return nil, sr.off, fmt.Errorf("%w: %d bytes of header at offset %d", errTorn, sr.size-sr.off, sr.off)
	}
	if _, err := io.ReadFull(sr.r, sr.hdr[:]); err != nil {
		return nil, sr.off, readErr(err, sr.off)
	}
	n := int64(binary.LittleEndian.Uint32(sr.hdr[0:4]))
	sum := binary.LittleEndian.Uint32(sr.hdr[4:8])
	if n == 0 {
		return nil, sr.off, fmt.Errorf("%w at offset %d", errZeroLength, sr.off)
	}
	if n > sr.size-sr.off-headerSize {
		return nil, sr.off, fmt.Errorf("%w: length %d at offset %d runs past the end", errTorn, n, sr.off)
	}
	if int64(cap(sr.payload)) < n {
		sr.payload = make([]byte, n)
	}
	p := sr.payload[:n]
	if _, err := io.ReadFull(sr.r, p); err != nil {
		return nil, sr.off, readErr(err, sr.off)
	}
	if crc32.Checksum(p, castagnoli) != sum {
		return nil, sr.off, fmt.Errorf("%w: checksum mismatch at offset %d", errCorrupt, sr.off)
	}
	off = sr.off
	sr.off += headerSize + n
	return p, off, nil
}

func readErr(err error, off int64) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: file ends inside the record at offset %d", errTorn, off)
	}
	return fmt.Errorf("read record at offset %d: %w", off, err)
}
