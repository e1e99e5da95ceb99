package walstorageextension

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

const (
	segmentSuffix = ".wal"
	corruptDir    = "corrupt"
	reserveName   = "reserve"

	// minReserve is the smallest reserve file; it is otherwise an eighth of
	// a segment.
	minReserve = 64 << 10

	// reserveRetry is how often a call storing a large value tries to
	// write the missing reserve file again.
	reserveRetry = time.Second

	// smallValueSize is the largest value kept in memory as well as on
	// disk: the queue's metadata, read and overwritten at every call.
	smallValueSize = 64

	// opOverhead approximates the bytes an op costs beyond its key and
	// value (type, lengths, a share of the record header), for the live
	// byte count that compaction compares with the disk size.
	opOverhead = 8

	// maxKeptBuffer is the largest encoder buffer kept between calls; a
	// bigger one (a huge batch) is dropped so it does not pin memory.
	maxKeptBuffer = 4 << 20
)

// segmentFile is what the store needs of a segment file; tests replace
// os.File with one that fails.
type segmentFile interface {
	io.ReaderAt
	io.WriterAt
	Truncate(size int64) error
	Sync() error
	Close() error
}

type storeOptions struct {
	// maxSegmentSize is the size at which the active segment is closed and
	// a new one started.
	maxSegmentSize int64
	// fsync syncs the segment after every write.
	fsync  bool
	logger *zap.Logger
	// writeFailed, if set, is called for each call whose record could not
	// be written.
	writeFailed func()
	// openFile and removeFile are os.OpenFile and os.Remove unless a test
	// says otherwise.
	openFile   func(name string, flag int, perm os.FileMode) (segmentFile, error)
	removeFile func(name string) error
	now        func() time.Time
}

func osOpenFile(name string, flag int, perm os.FileMode) (segmentFile, error) {
	return os.OpenFile(name, flag, perm)
}

// entry locates the current value of a key; 16 bytes, as there is one per
// queued item.
type entry struct {
	seg uint32
	n   uint32 // value length
	off int64  // offset of the value in its segment
}

type segment struct {
	id        uint32
	path      string
	f         segmentFile
	size      int64
	live      int   // keys whose current value is in this segment
	liveBytes int64 // their cost, as counted by opCost
}

// recoveryStats describes what opening a store found on disk.
type recoveryStats struct {
	recordsRecovered int64
	// bytesLost is what was cut from segments after a torn or corrupt
	// record; the number of records in it cannot be known.
	bytesLost       int64
	corruptSegments int64
}

// store is a key-value map kept as a log of segment files. Each mutating
// call appends one checksummed record, so after a crash a call is either
// wholly in effect or not at all. Memory holds only where each value is
// (and values of up to smallValueSize bytes). A store is safe for
// concurrent use.
type store struct {
	dir  string
	opts storeOptions
	lock *os.File // holds the directory's lock until close; nil without flock

	// mu guards all fields below; reads of values from segment files
	// happen under the read lock, so segments are not closed under them.
	mu         sync.RWMutex
	index      map[string]entry
	small      map[string][]byte // the values of up to smallValueSize bytes
	segs       []*segment        // oldest first, the last one is appended to
	byID       map[uint32]*segment
	enc        recordEncoder
	valueOffs  []int // offsets of set values in the record being written
	totalBytes int64 // sum of segment sizes
	liveBytes  int64 // sum of segment liveBytes
	// dirtyTail says a failed write may have left bytes after the active
	// segment's size that a truncate could not remove yet.
	dirtyTail bool
	rolled    bool // a segment was started since the last compaction check
	// haveReserve says the reserve file is on disk (see reservePath);
	// reserveTried is when writing it last failed.
	haveReserve  bool
	reserveTried time.Time
	closed       bool
	recovered    recoveryStats
}

var errClosed = errors.New("storage is closed")

// errNoLock says the directory could not be locked, for want of support.
var errNoLock = errors.New("no lock")

func opCost(key string, n int) int64 { return int64(len(key) + n + opOverhead) }

func segmentName(id uint32) string { return fmt.Sprintf("%08d%s", id, segmentSuffix) }

// openStore opens or creates the store in dir, replaying its segments.
// Bad data never fails it: a torn or corrupt end of the last segment is cut
// off, an earlier segment with a bad record is copied to corrupt/ and cut
// after its last good record. Only I/O errors fail it.
func openStore(dir string, opts storeOptions) (*store, error) {
	if opts.openFile == nil {
		opts.openFile = osOpenFile
	}
	if opts.removeFile == nil {
		opts.removeFile = os.Remove
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	if opts.logger == nil {
		opts.logger = zap.NewNop()
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%s is a file, not a wal_storage directory (a file_storage database?): give wal_storage a directory of its own", dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create storage directory: %w", err)
	}
	lock, err := lockDir(dir)
	if errors.Is(err, errNoLock) {
		if runtime.GOOS != "windows" {
			opts.logger.Warn("wal storage: cannot lock the directory; make sure no other process uses it", zap.Error(err))
		}
	} else if err != nil {
		return nil, err
	}
	ids, err := listSegments(dir)
	if err != nil {
		if lock != nil {
			_ = lock.Close()
		}
		return nil, err
	}
	s := &store{
		dir:   dir,
		lock:  lock,
		opts:  opts,
		index: make(map[string]entry),
		small: make(map[string][]byte),
		byID:  make(map[uint32]*segment),
	}
	for i, id := range ids {
		if err := s.replay(id, i == len(ids)-1); err != nil {
			_ = s.closeFiles()
			return nil, err
		}
	}
	if len(s.segs) == 0 {
		if err := s.startSegment(1); err != nil {
			_ = s.closeFiles()
			return nil, err
		}
	}
	if fi, err := os.Stat(s.reservePath()); err == nil && fi.Size() == s.reserveSize() {
		s.haveReserve = true
	} else {
		s.makeReserve()
	}
	s.collect()
	s.maybeCompact()
	return s, nil
}

func listSegments(dir string) ([]uint32, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list storage directory: %w", err)
	}
	var ids []uint32
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), segmentSuffix)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 32)
		if err != nil || id == 0 {
			continue
		}
		ids = append(ids, uint32(id))
	}
	slices.Sort(ids)
	return ids, nil
}

// replay reads segment id into the index and adds it to the store.
func (s *store) replay(id uint32, last bool) error {
	path := filepath.Join(s.dir, segmentName(id))
	f, err := s.opts.openFile(path, os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("stat segment: %w", err)
	}
	seg := &segment{id: id, path: path, f: f}
	s.segs = append(s.segs, seg)
	s.byID[id] = seg

	size := fi.Size()
	sr := newSegmentReader(io.NewSectionReader(f, 0, size), size)
	for {
		p, off, err := sr.next()
		if err == nil {
			err = decodePayload(p, func(op decodedOp) {
				switch op.typ {
				case opSet:
					s.put(string(op.key), id, off+headerSize+int64(op.valueOff), op.value)
				case opDelete:
					s.remove(string(op.key))
				}
			})
			if err == nil {
				s.recovered.recordsRecovered++
				continue
			}
		}
		if errors.Is(err, io.EOF) {
			seg.size = size
			s.totalBytes += size
			return nil
		}
		if !errors.Is(err, errCorrupt) && !errors.Is(err, errTorn) {
			return fmt.Errorf("read segment %s: %w", path, err)
		}
		return s.cutSegment(seg, off, size, last, err)
	}
}

// cutSegment truncates seg after its last good record at good.
func (s *store) cutSegment(seg *segment, good, size int64, last bool, cause error) error {
	lost := size - good
	fields := []zap.Field{
		zap.String("segment", seg.path), zap.Int64("kept_bytes", good),
		zap.Int64("lost_bytes", lost), zap.Error(cause),
	}
	// The end of the last segment torn or zeroed is what a crash during a
	// write leaves; anything else is damage worth a copy.
	damaged := !last || (errors.Is(cause, errCorrupt) && !errors.Is(cause, errZeroLength))
	if damaged {
		s.recovered.corruptSegments++
		aside, err := s.copyAside(seg.path)
		if err != nil {
			s.opts.logger.Error("wal storage: could not keep a copy of a corrupt segment", zap.String("segment", seg.path), zap.Error(err))
		} else {
			fields = append(fields, zap.String("copy", aside))
		}
	}
	switch {
	case !last:
		s.opts.logger.Warn("wal storage: corrupt record inside a segment; the records after it in that segment are lost", fields...)
	case damaged:
		s.opts.logger.Warn("wal storage: corrupt record in the last segment; it and the records after it are lost", fields...)
	default:
		s.opts.logger.Warn("wal storage: cut the unreadable end of the last segment; the record in it is lost", fields...)
	}
	s.recovered.bytesLost += lost
	if err := seg.f.Truncate(good); err != nil {
		return fmt.Errorf("truncate segment %s: %w", seg.path, err)
	}
	seg.size = good
	s.totalBytes += good
	return nil
}

// copyAside copies a corrupt segment into the corrupt/ directory, for a
// human to look at, before it is cut.
func (s *store) copyAside(path string) (string, error) {
	dir := filepath.Join(s.dir, corruptDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, fmt.Sprintf("%s.%d", filepath.Base(path), time.Now().UnixNano()))
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		_ = os.Remove(dst)
		return "", err
	}
	return dst, out.Close()
}

// startSegment creates segment id and makes it the one appended to.
func (s *store) startSegment(id uint32) error {
	path := filepath.Join(s.dir, segmentName(id))
	f, err := s.opts.openFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("create segment: %w", err)
	}
	if s.opts.fsync {
		if err := syncDir(s.dir); err != nil {
			_ = f.Close()
			_ = os.Remove(path)
			return err
		}
	}
	seg := &segment{id: id, path: path, f: f}
	s.segs = append(s.segs, seg)
	s.byID[id] = seg
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync storage directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync storage directory %s: %w", dir, err)
	}
	return nil
}

func (s *store) active() *segment { return s.segs[len(s.segs)-1] }

// The reserve is a file of zeros that gives its room back when the disk is
// full, to calls that add no key (they overwrite or delete keys): the
// queue's reads and deletes, which overwrite its metadata, so that it can
// still drain (and the deletes free segments) while new items are refused.
// Without it a full disk would fail every read, and the queue skips an
// item whose read fails. Calls that add a key fail while the reserve is not
// on disk, so that they cannot take its room.
func (s *store) reservePath() string { return filepath.Join(s.dir, reserveName) }

func (s *store) reserveSize() int64 { return max(s.opts.maxSegmentSize/8, minReserve) }

// makeReserve writes the reserve file if there is room for it.
func (s *store) makeReserve() {
	path := s.reservePath()
	f, err := s.opts.openFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err == nil {
		zeros := make([]byte, 64<<10)
		for off := int64(0); off < s.reserveSize() && err == nil; off += int64(len(zeros)) {
			_, err = f.WriteAt(zeros[:min(int64(len(zeros)), s.reserveSize()-off)], off)
		}
		if err == nil && s.opts.fsync {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		_ = s.opts.removeFile(path)
		s.reserveTried = s.opts.now()
		s.opts.logger.Debug("wal storage: no room for the reserve file yet", zap.Error(err))
		return
	}
	s.haveReserve = true
}

// errNoReserve fails calls that add keys while the reserve is used.
var errNoReserve = fmt.Errorf("disk full, new keys are refused until the reserve file can be written again: %w",
	storage.ErrStorageFull)

// useReserve deletes the reserve file to make room.
func (s *store) useReserve() bool {
	if err := s.opts.removeFile(s.reservePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.opts.logger.Warn("wal storage: could not delete the reserve file", zap.Error(err))
		return false
	}
	s.haveReserve = false
	s.opts.logger.Warn("wal storage: disk full, the reserve file is deleted so that reads and deletes go on; calls adding keys fail until there is room again",
		zap.Int64("reserve_bytes", s.reserveSize()))
	return true
}

// append writes one record (see appendOnce). A record that adds no key
// (draining) and does not fit on a full disk gets the reserve's room.
func (s *store) append(rec []byte, draining bool) (*segment, int64, error) {
	if !draining && !s.haveReserve {
		if s.opts.now().Sub(s.reserveTried) >= reserveRetry {
			s.makeReserve()
		}
		if !s.haveReserve {
			return nil, 0, errNoReserve
		}
	}
	seg, off, err := s.appendOnce(rec)
	if err != nil && draining && s.haveReserve && !s.dirtyTail && errors.Is(err, storage.ErrStorageFull) && s.useReserve() {
		seg, off, err = s.appendOnce(rec)
	}
	return seg, off, err
}

// appendOnce writes one record to the active segment, starting a new
// segment first if this one would grow past its limit. On failure nothing
// of the record stays on disk (or, if even the truncate failed, the next
// append removes it first), so the store goes on working once the cause is
// gone.
func (s *store) appendOnce(rec []byte) (*segment, int64, error) {
	act := s.active()
	if s.dirtyTail {
		if err := act.f.Truncate(act.size); err != nil {
			return nil, 0, writeError("truncate segment", act.path, err)
		}
		s.dirtyTail = false
	}
	if act.size > 0 && act.size+int64(len(rec)) > s.opts.maxSegmentSize {
		if err := s.startSegment(act.id + 1); err != nil {
			return nil, 0, writeError("start the segment after", act.path, err)
		}
		s.rolled = true
		act = s.active()
	}
	_, err := act.f.WriteAt(rec, act.size)
	if err == nil && s.opts.fsync {
		err = act.f.Sync()
	}
	if err != nil {
		if terr := act.f.Truncate(act.size); terr != nil {
			s.dirtyTail = true
		}
		return nil, 0, writeError("write segment", act.path, err)
	}
	off := act.size
	act.size += int64(len(rec))
	s.totalBytes += int64(len(rec))
	return act, off, nil
}

// writeError wraps a write failure; a full disk is also
// storage.ErrStorageFull, which callers may test for.
func writeError(what, path string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%s %s: %w", what, path, errors.Join(storage.ErrStorageFull, err))
	}
	return fmt.Errorf("%s %s: %w", what, path, err)
}

// put points key at a value at off in segment id; value is only read
// when it is small enough to keep in memory.
func (s *store) put(key string, id uint32, off int64, value []byte) {
	if old, ok := s.index[key]; ok {
		s.unlink(key, old)
	}
	seg := s.byID[id]
	cost := opCost(key, len(value))
	seg.live++
	seg.liveBytes += cost
	s.liveBytes += cost
	s.index[key] = entry{seg: id, n: uint32(len(value)), off: off}
	if len(value) <= smallValueSize {
		// Reuse the old copy's array: the metadata key is set at every call.
		prev, ok := s.small[key]
		if !ok {
			prev = make([]byte, 0, smallValueSize)
		}
		s.small[key] = append(prev[:0], value...)
	} else {
		delete(s.small, key)
	}
}

func (s *store) remove(key string) {
	if old, ok := s.index[key]; ok {
		s.unlink(key, old)
		delete(s.index, key)
		delete(s.small, key)
	}
}

func (s *store) unlink(key string, e entry) {
	seg := s.byID[e.seg]
	cost := opCost(key, int(e.n))
	seg.live--
	seg.liveBytes -= cost
	s.liveBytes -= cost
}

// get returns a copy of key's value, nil if there is none. The caller
// holds mu, for reading at least.
func (s *store) get(key string) ([]byte, error) {
	e, ok := s.index[key]
	if !ok {
		return nil, nil
	}
	if e.n <= smallValueSize {
		return append([]byte{}, s.small[key]...), nil
	}
	seg := s.byID[e.seg]
	buf := make([]byte, e.n)
	if _, err := seg.f.ReadAt(buf, e.off); err != nil {
		return nil, fmt.Errorf("read %q from %s: %w", key, seg.path, err)
	}
	return buf, nil
}

// batch applies ops in order, as one record: Get ops see the sets and
// deletes before them in ops. If the record cannot be written no op takes
// effect and the Get ops are left as they were.
func (s *store) batch(ops []*storage.Operation) error {
	mutations, err := countMutations(ops)
	if err != nil {
		return err
	}
	if mutations == 0 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.closed {
			return errClosed
		}
		for _, op := range ops {
			v, err := s.get(op.Key)
			if err != nil {
				return err
			}
			op.Value = v
		}
		return nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	return s.batchLocked(ops, mutations)
}

// batchLocked is batch with mu held for writing, for ops of which
// mutations are sets or deletes.
func (s *store) batchLocked(ops []*storage.Operation, mutations int) error {
	if mutations == 0 {
		for _, op := range ops {
			v, err := s.get(op.Key)
			if err != nil {
				return err
			}
			op.Value = v
		}
		return nil
	}
	s.enc.reset(mutations)
	s.valueOffs = s.valueOffs[:0]
	draining := true
	for _, op := range ops {
		switch op.Type {
		case storage.Set:
			if draining {
				_, exists := s.index[op.Key]
				draining = exists
			}
			s.valueOffs = append(s.valueOffs, s.enc.set(op.Key, op.Value))
		case storage.Delete:
			s.enc.delete(op.Key)
		}
	}
	rec, err := s.enc.finish()
	if err != nil {
		return err
	}
	seg, off, err := s.append(rec, draining)
	if cap(s.enc.buf) > maxKeptBuffer {
		s.enc.buf = nil
	}
	if err != nil {
		if s.opts.writeFailed != nil {
			s.opts.writeFailed()
		}
		return err
	}
	var getErr error
	sets := 0
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			v, err := s.get(op.Key)
			if err != nil && getErr == nil {
				getErr = err
			}
			op.Value = v
		case storage.Set:
			s.put(op.Key, seg.id, off+int64(s.valueOffs[sets]), op.Value)
			sets++
		case storage.Delete:
			s.remove(op.Key)
		}
	}
	s.collect()
	if s.rolled {
		s.rolled = false
		s.maybeCompact()
	}
	return getErr
}

// walk calls fn for each key and its value, in key order, then applies
// the ops fn returned as one call; see storage.Walker.
func (s *store) walk(ctx context.Context, fn storage.WalkFunc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	keys := slices.Sorted(maps.Keys(s.index))
	var ops []*storage.Operation
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := s.get(k)
		if err != nil {
			return err
		}
		more, err := fn(k, v)
		ops = append(ops, more...)
		if errors.Is(err, storage.SkipAll) {
			break
		}
		if err != nil {
			return err
		}
	}
	mutations, err := countMutations(ops)
	if err != nil {
		return err
	}
	return s.batchLocked(ops, mutations)
}

// countMutations counts the sets and deletes in ops, and fails on an op of
// no known type before anything is applied.
func countMutations(ops []*storage.Operation) (int, error) {
	n := 0
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
		case storage.Set, storage.Delete:
			n++
		default:
			return 0, fmt.Errorf("unknown operation type %d for key %q", op.Type, op.Key)
		}
	}
	return n, nil
}

// collect deletes the oldest segments while no current value is in them.
// Only the oldest may go: a later dead segment can hold the deletes that
// keep an older segment's values from coming back at replay.
func (s *store) collect() {
	freed := false
	defer func() {
		if freed && !s.haveReserve {
			s.makeReserve()
		}
	}()
	for len(s.segs) > 1 && s.segs[0].live == 0 {
		seg := s.segs[0]
		if err := s.opts.removeFile(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.opts.logger.Warn("wal storage: could not delete a segment no longer needed", zap.String("segment", seg.path), zap.Error(err))
			return
		}
		freed = true
		_ = seg.f.Close()
		s.totalBytes -= seg.size
		delete(s.byID, seg.id)
		s.segs[0] = nil
		s.segs = s.segs[1:]
	}
}

// needsCompaction says whether the disk holds more than twice the live
// data, beyond a floor of two full segments.
func (s *store) needsCompaction() bool {
	return len(s.segs) > 1 &&
		s.totalBytes > 2*s.opts.maxSegmentSize &&
		s.totalBytes > 2*s.liveBytes
}

// maybeCompact copies the live values of the oldest segments forward until
// the disk no longer holds more than twice the live data, so a few values
// nobody deletes (a stuck item) do not keep gigabytes of dead ones.
func (s *store) maybeCompact() {
	for n := len(s.segs) - 1; n > 0 && s.needsCompaction(); n-- {
		if err := s.compactOldest(); err != nil {
			s.opts.logger.Warn("wal storage: compaction failed, will retry at the next new segment", zap.Error(err))
			return
		}
	}
	s.rolled = false
}

func (s *store) compactOldest() error {
	old := s.segs[0]
	type liveValue struct {
		key string
		e   entry
	}
	var lv []liveValue
	for k, e := range s.index {
		if e.seg == old.id {
			lv = append(lv, liveValue{k, e})
		}
	}
	slices.SortFunc(lv, func(a, b liveValue) int { return int(a.e.off - b.e.off) })
	written := map[*segment]bool{}
	for _, v := range lv {
		val, err := s.get(v.key)
		if err != nil {
			return err
		}
		s.enc.reset(1)
		valOff := s.enc.set(v.key, val)
		rec, err := s.enc.finish()
		if err != nil {
			return err
		}
		// Not from the reserve: compaction waits for room.
		seg, off, err := s.append(rec, false)
		if err != nil {
			return err
		}
		written[seg] = true
		s.put(v.key, seg.id, off+int64(valOff), val)
	}
	// The copies must be on disk before the original goes.
	if !s.opts.fsync {
		for seg := range written {
			if err := seg.f.Sync(); err != nil {
				return fmt.Errorf("sync segment %s: %w", seg.path, err)
			}
		}
	}
	s.collect()
	return nil
}

// stats returns the disk and live sizes.
func (s *store) sizes() (segments int, total, live int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.segs), s.totalBytes, s.liveBytes
}

// close closes the segment files; the store fails every call after.
func (s *store) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.closeFiles()
}

func (s *store) closeFiles() error {
	var errs []error
	for _, seg := range s.segs {
		if s.opts.fsync {
			if err := seg.f.Sync(); err != nil {
				errs = append(errs, fmt.Errorf("sync segment %s: %w", seg.path, err))
			}
		}
		if err := seg.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close segment %s: %w", seg.path, err))
		}
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}
