package walstorageextension

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// FuzzReplay feeds arbitrary bytes to the segment reader and to a store
// opening them as its only segment: neither may panic, the open must
// succeed, and the store must take writes after.
func FuzzReplay(f *testing.F) {
	var enc recordEncoder
	enc.reset(2)
	enc.set("qmv0", []byte{8, 1, 16, 2})
	enc.delete("0")
	rec, err := enc.finish()
	require.NoError(f, err)
	good := bytes.Clone(rec)
	f.Add(good)
	f.Add(append(bytes.Clone(good), good[:5]...))
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})

	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		sr := newSegmentReader(bytes.NewReader(data), int64(len(data)))
		for {
			p, off, err := sr.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, errCorrupt) && !errors.Is(err, errTorn) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				if off > int64(len(data)) {
					t.Fatalf("good part ends at %d, past the %d bytes", off, len(data))
				}
				break
			}
			_ = decodePayload(p, func(decodedOp) {})
		}

		// As the segment itself, and as the payload of a record with a
		// good checksum, so the payload decoder sees arbitrary bytes too.
		wrapped := binary.LittleEndian.AppendUint32(nil, uint32(len(data)))
		wrapped = binary.LittleEndian.AppendUint32(wrapped, crc32.Checksum(data, castagnoli))
		wrapped = append(wrapped, data...)
		for _, seg := range [][]byte{data, wrapped} {
			openAndWrite(t, dir, seg)
		}
	})
}

func openAndWrite(t *testing.T, dir string, seg []byte) {
	{
		path := filepath.Join(dir, segmentName(1))
		require.NoError(t, os.WriteFile(path, seg, 0o640))
		s, err := openStore(dir, testOptions(1<<20))
		require.NoError(t, err)
		require.NoError(t, s.batch([]*storage.Operation{storage.SetOperation("after", []byte("fuzz"))}))
		v, err := s.get("after")
		require.NoError(t, err)
		require.Equal(t, "fuzz", string(v))
		require.NoError(t, s.close())
		ids, err := listSegments(dir)
		require.NoError(t, err)
		for _, id := range ids {
			require.NoError(t, os.Remove(filepath.Join(dir, segmentName(id))))
		}
	}
}
