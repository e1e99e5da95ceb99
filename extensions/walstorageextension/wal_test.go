package walstorageextension

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func testOptions(maxSegment int64) storeOptions {
	return storeOptions{maxSegmentSize: maxSegment, logger: zap.NewNop()}
}

func mustOpen(t *testing.T, dir string, opts storeOptions) *store {
	t.Helper()
	s, err := openStore(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.close() })
	return s
}

// contents reads every key back through get, as the state to compare.
func contents(t *testing.T, s *store) map[string]string {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	got := map[string]string{}
	for k := range s.index {
		v, err := s.get(k)
		require.NoError(t, err)
		got[k] = string(v)
	}
	return got
}

// call is one client call of a scripted test; each is one record.
type call []*storage.Operation

func set(k, v string) *storage.Operation { return storage.SetOperation(k, []byte(v)) }
func del(k string) *storage.Operation    { return storage.DeleteOperation(k) }
func get(k string) *storage.Operation    { return storage.GetOperation(k) }

// applyModel applies a call to the map it is compared with.
func applyModel(m map[string]string, c call) {
	for _, op := range c {
		switch op.Type {
		case storage.Set:
			m[op.Key] = string(op.Value)
		case storage.Delete:
			delete(m, op.Key)
		}
	}
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestClientSemantics(t *testing.T) {
	big := strings.Repeat("x", 5000)
	tests := []struct {
		name  string
		calls []call
		// gets are checked after the calls: key → value, nil for missing.
		want map[string][]byte
		// batchGets checks the Get ops of the last call.
		batchGets []string
	}{
		{name: "missing key is nil", want: map[string][]byte{"nope": nil}},
		{name: "set then get", calls: []call{{set("a", "1")}}, want: map[string][]byte{"a": []byte("1")}},
		{name: "overwrite", calls: []call{{set("a", "1")}, {set("a", "2")}}, want: map[string][]byte{"a": []byte("2")}},
		{name: "overwrite small with big", calls: []call{{set("a", "1")}, {set("a", big)}}, want: map[string][]byte{"a": []byte(big)}},
		{name: "overwrite big with small", calls: []call{{set("a", big)}, {set("a", "s")}}, want: map[string][]byte{"a": []byte("s")}},
		{name: "delete", calls: []call{{set("a", "1")}, {del("a")}}, want: map[string][]byte{"a": nil}},
		{name: "delete missing key", calls: []call{{del("a")}}, want: map[string][]byte{"a": nil}},
		{name: "empty value is not missing", calls: []call{{set("a", "")}}, want: map[string][]byte{"a": {}}},
		{name: "empty key", calls: []call{{set("", "v")}}, want: map[string][]byte{"": []byte("v")}},
		{
			name:  "batch of sets and a delete",
			calls: []call{{set("a", "1"), set("b", big), set("c", "3"), del("c")}},
			want:  map[string][]byte{"a": []byte("1"), "b": []byte(big), "c": nil},
		},
		{
			name:      "gets in a batch see the ops before them",
			calls:     []call{{set("a", "old")}, {get("a"), set("a", "new"), get("a"), del("a"), get("a"), get("b")}},
			batchGets: []string{"old", "new", "<nil>", "<nil>"},
			want:      map[string][]byte{"a": nil},
		},
		{
			name:      "batch of gets only",
			calls:     []call{{set("a", "1"), set("b", big)}, {get("a"), get("b"), get("c")}},
			batchGets: []string{"1", big, "<nil>"},
		},
		{
			name:  "queue pattern",
			calls: []call{{set("qmv0", "w1"), set("0", big)}, {set("qmv0", "r1"), get("0")}, {set("qmv0", "d"), del("0")}},
			want:  map[string][]byte{"qmv0": []byte("d"), "0": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := mustOpen(t, dir, testOptions(1<<20))
			c := &client{store: s}
			for _, cl := range tt.calls {
				require.NoError(t, c.Batch(ctx, cl...))
			}
			if tt.batchGets != nil {
				var got []string
				for _, op := range tt.calls[len(tt.calls)-1] {
					if op.Type == storage.Get {
						if op.Value == nil {
							got = append(got, "<nil>")
						} else {
							got = append(got, string(op.Value))
						}
					}
				}
				assert.Equal(t, tt.batchGets, got)
			}
			check := func(c storage.Client) {
				for k, want := range tt.want {
					v, err := c.Get(ctx, k)
					require.NoError(t, err)
					assert.Equal(t, want, v, "key %q", k)
				}
			}
			check(c)
			require.NoError(t, c.Close(ctx))
			_, err := c.Get(ctx, "a")
			assert.ErrorIs(t, err, errClosed)

			// The same after a restart.
			check(&client{store: mustOpen(t, dir, testOptions(1<<20))})
		})
	}
}

func TestGetReturnsACopy(t *testing.T) {
	ctx := context.Background()
	c := &client{store: mustOpen(t, t.TempDir(), testOptions(1<<20))}
	val := []byte("value")
	require.NoError(t, c.Set(ctx, "k", val))
	val[0] = 'X' // the caller reusing its buffer
	got, err := c.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "value", string(got))
	got[0] = 'Y'
	again, err := c.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "value", string(again))
}

func TestUnknownOperationAppliesNothing(t *testing.T) {
	ctx := context.Background()
	c := &client{store: mustOpen(t, t.TempDir(), testOptions(1<<20))}
	err := c.Batch(ctx, set("a", "1"), &storage.Operation{Key: "b", Type: 42})
	require.ErrorContains(t, err, "unknown operation type 42")
	v, err := c.Get(ctx, "a")
	require.NoError(t, err)
	assert.Nil(t, v)
}

// scriptedCalls is a mix of calls whose records span a few segments when
// segments are small.
func scriptedCalls(n int, rng *rand.Rand) []call {
	var calls []call
	for i := range n {
		switch i % 4 {
		case 0, 1:
			calls = append(calls, call{
				set("meta", fmt.Sprintf("w%d", i)),
				set(fmt.Sprint(i), strings.Repeat(string(rune('a'+i%26)), 10+rng.IntN(300))),
			})
		case 2:
			calls = append(calls, call{set("meta", fmt.Sprintf("r%d", i)), del(fmt.Sprint(i - 2))})
		case 3:
			calls = append(calls, call{set("meta", fmt.Sprintf("x%d", i)), set("big", strings.Repeat("B", 100+rng.IntN(100)))})
		}
	}
	return calls
}

// writeScript runs calls against a fresh store in dir and returns the
// model state after each prefix of the calls, and the segment size after
// each call.
func writeScript(t *testing.T, dir string, opts storeOptions, calls []call) (states []map[string]string, ends []int64) {
	t.Helper()
	s, err := openStore(dir, opts)
	require.NoError(t, err)
	m := map[string]string{}
	states = append(states, clone(m))
	ends = append(ends, 0)
	for _, c := range calls {
		require.NoError(t, s.batch(c))
		applyModel(m, c)
		states = append(states, clone(m))
		ends = append(ends, s.active().size)
	}
	require.Equal(t, m, contents(t, s))
	require.NoError(t, s.close())
	return states, ends
}

func TestReplayAfterTruncationAtEveryOffset(t *testing.T) {
	src := t.TempDir()
	calls := scriptedCalls(12, rand.New(rand.NewPCG(1, 2)))
	states, ends := writeScript(t, src, testOptions(1<<20), calls)
	seg, err := os.ReadFile(filepath.Join(src, segmentName(1)))
	require.NoError(t, err)
	require.Equal(t, ends[len(ends)-1], int64(len(seg)))

	// Every offset of the last two records, every 13th before them.
	dense := int(ends[len(ends)-3])
	dir := t.TempDir()
	for cut := 0; cut <= len(seg); cut++ {
		if cut < dense && cut%13 != 0 {
			continue
		}
		// The state is that after the calls whose records fit before cut.
		want := 0
		for want+1 < len(ends) && ends[want+1] <= int64(cut) {
			want++
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), seg[:cut], 0o640))
		s, err := openStore(dir, testOptions(1<<20))
		require.NoError(t, err, "cut at %d", cut)
		if !assert.Equal(t, states[want], contents(t, s), "cut at %d", cut) {
			_ = s.close()
			return
		}
		assert.Equal(t, ends[want], s.active().size, "cut at %d: the torn tail is truncated away", cut)
		assert.Zero(t, s.recovered.corruptSegments, "cut at %d: a torn tail is no damage worth a copy", cut)
		// The store keeps working after the cut.
		require.NoError(t, s.batch(call{set("after", "crash")}))
		require.NoError(t, s.close())
		fi, err := os.Stat(filepath.Join(dir, segmentName(1)))
		require.NoError(t, err)
		assert.Greater(t, fi.Size(), ends[want])
	}
}

func TestReplayAfterByteFlips(t *testing.T) {
	src := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	calls := scriptedCalls(12, rng)
	states, ends := writeScript(t, src, testOptions(1<<20), calls)
	seg, err := os.ReadFile(filepath.Join(src, segmentName(1)))
	require.NoError(t, err)

	dir := t.TempDir()
	for i := range 300 {
		pos := rng.IntN(len(seg))
		bad := bytes.Clone(seg)
		bad[pos] ^= byte(1 + rng.IntN(255))
		// The record holding the flipped byte and all after it are gone.
		want := 0
		for ends[want+1] <= int64(pos) {
			want++
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), bad, 0o640))
		s, err := openStore(dir, testOptions(1<<20))
		require.NoError(t, err, "flip %d at %d", i, pos)
		assert.Equal(t, states[want], contents(t, s), "flip %d at %d", i, pos)
		require.NoError(t, s.close())
	}
}

func TestCorruptMiddleSegment(t *testing.T) {
	dir := t.TempDir()
	core, logs := observer.New(zap.WarnLevel)
	opts := testOptions(1 << 10)
	opts.logger = zap.New(core)

	s, err := openStore(dir, opts)
	require.NoError(t, err)
	// 40 values of 100 bytes: about 9 per segment, none deleted.
	type loc struct {
		seg uint32
		off int64
	}
	where := map[string]loc{}
	for i := range 40 {
		k := fmt.Sprint(i)
		require.NoError(t, s.batch(call{set(k, strings.Repeat(k, 100)[:100])}))
		e := s.index[k]
		where[k] = loc{e.seg, e.off}
	}
	require.Greater(t, len(s.segs), 3)
	require.NoError(t, s.close())

	// Damage the fourth value of segment 2.
	var victim string
	var rank int
	for i := range 40 {
		if l := where[fmt.Sprint(i)]; l.seg == 2 {
			if rank == 3 {
				victim = fmt.Sprint(i)
			}
			rank++
		}
	}
	path := filepath.Join(dir, segmentName(2))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[where[victim].off+10] ^= 0xff
	require.NoError(t, os.WriteFile(path, data, 0o640))

	s, err = openStore(dir, opts)
	require.NoError(t, err)
	defer s.close()
	got := contents(t, s)
	for i := range 40 {
		k := fmt.Sprint(i)
		l := where[k]
		lost := l.seg == 2 && l.off >= where[victim].off
		if lost {
			assert.NotContains(t, got, k)
		} else {
			assert.Equal(t, strings.Repeat(k, 100)[:100], got[k], "key %s in segment %d", k, l.seg)
		}
	}
	assert.Equal(t, int64(1), s.recovered.corruptSegments)
	assert.Positive(t, s.recovered.bytesLost)

	aside, err := os.ReadDir(filepath.Join(dir, corruptDir))
	require.NoError(t, err)
	require.Len(t, aside, 1)
	kept, err := os.ReadFile(filepath.Join(dir, corruptDir, aside[0].Name()))
	require.NoError(t, err)
	assert.Equal(t, data, kept, "the corrupt segment is kept whole for inspection")
	require.Equal(t, 1, logs.FilterMessageSnippet("corrupt record inside a segment").Len())
	assert.Equal(t, path, logs.FilterMessageSnippet("corrupt").All()[0].ContextMap()["segment"])

	// Writes go on, and a second restart finds nothing wrong.
	require.NoError(t, s.batch(call{set("new", "v")}))
	require.NoError(t, s.close())
	s, err = openStore(dir, opts)
	require.NoError(t, err)
	assert.Equal(t, int64(0), s.recovered.corruptSegments)
	got["new"] = "v"
	assert.Equal(t, got, contents(t, s))
}

func TestZeroedTail(t *testing.T) {
	// What some filesystems show after a power loss: the file grew but the
	// data never arrived.
	dir := t.TempDir()
	states, _ := writeScript(t, dir, testOptions(1<<20), scriptedCalls(5, rand.New(rand.NewPCG(5, 6))))
	f, err := os.OpenFile(filepath.Join(dir, segmentName(1)), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(make([]byte, 4096))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	s := mustOpen(t, dir, testOptions(1<<20))
	assert.Equal(t, states[len(states)-1], contents(t, s))
	assert.Equal(t, int64(4096), s.recovered.bytesLost)
	assert.Zero(t, s.recovered.corruptSegments, "a zeroed tail is no damage worth a copy")
	assert.NoDirExists(t, filepath.Join(dir, corruptDir))
}

func TestCorruptRecordInLastSegmentIsCopied(t *testing.T) {
	dir := t.TempDir()
	states, ends := writeScript(t, dir, testOptions(1<<20), scriptedCalls(6, rand.New(rand.NewPCG(7, 8))))
	path := filepath.Join(dir, segmentName(1))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[ends[2]+headerSize+1] ^= 0x40 // in the payload of the third record
	require.NoError(t, os.WriteFile(path, data, 0o640))

	s := mustOpen(t, dir, testOptions(1<<20))
	assert.Equal(t, states[2], contents(t, s))
	assert.Equal(t, int64(1), s.recovered.corruptSegments)
	aside, err := os.ReadDir(filepath.Join(dir, corruptDir))
	require.NoError(t, err)
	assert.Len(t, aside, 1)
}

func TestOpenIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"notes.txt", "x.wal", "00000000.wal", corruptDir} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("junk"), 0o640))
	}
	s := mustOpen(t, dir, testOptions(1<<20))
	assert.Empty(t, contents(t, s))
	require.NoError(t, s.batch(call{set("a", "b")}))
}

func TestOpenFailsOnIOErrorNamingThePath(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root reads anything; make the path a file instead.
		parent := t.TempDir()
		file := filepath.Join(parent, "file")
		require.NoError(t, os.WriteFile(file, nil, 0o640))
		_, err := openStore(filepath.Join(file, "store"), testOptions(1<<20))
		require.Error(t, err)
		assert.Contains(t, err.Error(), file)
		return
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), nil, 0o000))
	_, err := openStore(dir, testOptions(1<<20))
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, segmentName(1)))
}

func TestSecondOpenOfADirectoryFails(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	dir := t.TempDir()
	s := mustOpen(t, dir, testOptions(1<<20))
	_, err := openStore(dir, testOptions(1<<20))
	require.Error(t, err)
	assert.ErrorContains(t, err, "storage directory "+dir+" is in use by another process")
	require.NoError(t, s.close())
	s2 := mustOpen(t, dir, testOptions(1<<20))
	require.NoError(t, s2.batch(call{set("a", "b")}), "free again once closed")
}

func segmentFiles(t *testing.T, dir string) int {
	t.Helper()
	ids, err := listSegments(dir)
	require.NoError(t, err)
	return len(ids)
}

func TestDeadSegmentsAreDeleted(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testOptions(4<<10))
	val := strings.Repeat("v", 1000)
	// The queue's pattern: add at the head, remove at the tail.
	for i := range 200 {
		require.NoError(t, s.batch(call{set("meta", fmt.Sprint("w", i)), set(fmt.Sprint(i), val)}))
		if i >= 10 {
			require.NoError(t, s.batch(call{set("meta", fmt.Sprint("r", i)), del(fmt.Sprint(i - 10))}))
		}
	}
	// 10 live values of 1 KB and 4 KB segments: a handful of segments, not 50.
	assert.LessOrEqual(t, segmentFiles(t, dir), 5)
	n, total, _ := s.sizes()
	assert.Equal(t, n, segmentFiles(t, dir))
	assert.LessOrEqual(t, total, int64(5*(4<<10)))

	for i := 190; i < 200; i++ {
		require.NoError(t, s.batch(call{del(fmt.Sprint(i))}))
	}
	require.NoError(t, s.batch(call{del("meta")}))
	// Everything deleted: the deletes themselves fill the active segment,
	// every older one is gone.
	assert.LessOrEqual(t, segmentFiles(t, dir), 2)
	require.NoError(t, s.close())
	s = mustOpen(t, dir, testOptions(4<<10))
	assert.Empty(t, contents(t, s))
}

func TestCompactionKeepsPinnedValues(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testOptions(4<<10))
	// A value nobody deletes (an item stuck in dispatch) in the first
	// segment, then churn that would keep every segment after it.
	require.NoError(t, s.batch(call{set("stuck", strings.Repeat("s", 500))}))
	val := strings.Repeat("v", 700)
	for i := range 500 {
		require.NoError(t, s.batch(call{set("meta", fmt.Sprint("w", i)), set(fmt.Sprint(i), val)}))
		require.NoError(t, s.batch(call{set("meta", fmt.Sprint("r", i)), del(fmt.Sprint(i))}))
	}
	n, total, live := s.sizes()
	assert.LessOrEqual(t, n, 4, "segments")
	assert.LessOrEqual(t, total, 4*int64(4<<10))
	assert.Less(t, live, int64(1000))
	assert.Equal(t, n, segmentFiles(t, dir))
	want := map[string]string{"stuck": strings.Repeat("s", 500), "meta": "r499"}
	assert.Equal(t, want, contents(t, s))

	require.NoError(t, s.close())
	s = mustOpen(t, dir, testOptions(4<<10))
	assert.Equal(t, want, contents(t, s))
}

func TestRecordLargerThanASegment(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testOptions(1<<10))
	big := strings.Repeat("L", 5000)
	require.NoError(t, s.batch(call{set("a", "1")}))
	require.NoError(t, s.batch(call{set("big", big)}))
	require.NoError(t, s.batch(call{set("b", "2")}))
	want := map[string]string{"a": "1", "big": big, "b": "2"}
	assert.Equal(t, want, contents(t, s))
	require.NoError(t, s.close())
	assert.Equal(t, want, contents(t, mustOpen(t, dir, testOptions(1<<10))))
}

func TestConcurrentCalls(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, dir, testOptions(16<<10))
	c := &client{store: s}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			val := bytes.Repeat([]byte{byte('a' + g)}, 300)
			for i := range 300 {
				k := fmt.Sprintf("%d-%d", g, i)
				assert.NoError(t, c.Batch(ctx, storage.SetOperation("meta", []byte(k)), storage.SetOperation(k, val)))
				got, err := c.Get(ctx, k)
				assert.NoError(t, err)
				assert.Equal(t, val, got)
				if i%2 == 0 {
					assert.NoError(t, c.Delete(ctx, k))
				}
			}
		}()
	}
	wg.Wait()
	want := contents(t, s)
	assert.Len(t, want, 4*150+1)
	require.NoError(t, c.Close(ctx))
	assert.Equal(t, want, contents(t, mustOpen(t, dir, testOptions(16<<10))))
}

func TestWalk(t *testing.T) {
	errStop := errors.New("stop")
	tests := []struct {
		name    string
		fn      func(visited *[]string) storage.WalkFunc
		wantErr error
		visited []string
		after   map[string]string
	}{
		{
			name: "visits every key in order",
			fn: func(v *[]string) storage.WalkFunc {
				return func(k string, _ []byte) ([]*storage.Operation, error) { *v = append(*v, k); return nil, nil }
			},
			visited: []string{"a", "b", "big", "c"},
			after:   map[string]string{"a": "1", "b": "2", "big": strings.Repeat("x", 100), "c": "3"},
		},
		{
			name: "ops are applied at the end",
			fn: func(v *[]string) storage.WalkFunc {
				return func(k string, val []byte) ([]*storage.Operation, error) {
					*v = append(*v, k+"="+string(val[:1]))
					if k == "a" {
						return []*storage.Operation{del("b"), set("d", "4")}, nil
					}
					return nil, nil
				}
			},
			visited: []string{"a=1", "b=2", "big=x", "c=3"},
			after:   map[string]string{"a": "1", "big": strings.Repeat("x", 100), "c": "3", "d": "4"},
		},
		{
			name: "skip all applies the ops so far",
			fn: func(v *[]string) storage.WalkFunc {
				return func(k string, _ []byte) ([]*storage.Operation, error) {
					*v = append(*v, k)
					if k == "b" {
						return []*storage.Operation{del(k)}, storage.SkipAll
					}
					return []*storage.Operation{del(k)}, nil
				}
			},
			visited: []string{"a", "b"},
			after:   map[string]string{"big": strings.Repeat("x", 100), "c": "3"},
		},
		{
			name: "an error applies nothing",
			fn: func(v *[]string) storage.WalkFunc {
				return func(k string, _ []byte) ([]*storage.Operation, error) {
					*v = append(*v, k)
					if k == "b" {
						return nil, errStop
					}
					return []*storage.Operation{del(k)}, nil
				}
			},
			wantErr: errStop,
			visited: []string{"a", "b"},
			after:   map[string]string{"a": "1", "b": "2", "big": strings.Repeat("x", 100), "c": "3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := mustOpen(t, dir, testOptions(1<<20))
			c := &client{store: s}
			require.NoError(t, c.Batch(ctx, set("c", "3"), set("a", "1"), set("big", strings.Repeat("x", 100)), set("b", "2")))
			var visited []string
			err := c.Walk(ctx, tt.fn(&visited))
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, tt.visited, visited)
			assert.Equal(t, tt.after, contents(t, s))
			require.NoError(t, s.close())
			assert.Equal(t, tt.after, contents(t, mustOpen(t, dir, testOptions(1<<20))), "after a restart")
		})
	}
}
