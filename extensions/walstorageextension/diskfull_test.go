package walstorageextension

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// disk is a pretend disk with room for a given number of bytes more: a
// write beyond it writes what fits and fails with ENOSPC, as a real full
// disk does.
type disk struct {
	mu           sync.Mutex // guards the fields below
	room         int64      // bytes that can still be written; <0 is unlimited
	failTruncate bool
	failCreate   bool
}

func (d *disk) open(name string, flag int, perm os.FileMode) (segmentFile, error) {
	d.mu.Lock()
	fail := d.failCreate && flag&os.O_CREATE != 0
	d.mu.Unlock()
	if fail {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.ENOSPC}
	}
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &diskFile{File: f, d: d}, nil
}

type diskFile struct {
	*os.File
	d *disk
}

func (f *diskFile) WriteAt(p []byte, off int64) (int, error) {
	f.d.mu.Lock()
	n := int64(len(p))
	full := f.d.room >= 0 && n > f.d.room
	if full {
		n = f.d.room
	}
	if f.d.room >= 0 {
		f.d.room -= n
	}
	f.d.mu.Unlock()
	w, err := f.File.WriteAt(p[:n], off)
	if err == nil && full {
		err = &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return w, err
}

func (f *diskFile) Truncate(size int64) error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if f.d.failTruncate {
		return &os.PathError{Op: "truncate", Path: f.Name(), Err: syscall.EIO}
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if f.d.room >= 0 && fi.Size() > size {
		f.d.room += fi.Size() - size
	}
	return f.File.Truncate(size)
}

// remove gives a deleted file's bytes back to the disk.
func (d *disk) remove(name string) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	if err := os.Remove(name); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.room >= 0 {
		d.room += fi.Size()
	}
	return nil
}

func (d *disk) set(room int64, failTruncate, failCreate bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.room, d.failTruncate, d.failCreate = room, failTruncate, failCreate
}

func TestWriteFailureLeavesNothingAndRecovers(t *testing.T) {
	value := strings.Repeat("v", 4096)
	tests := []struct {
		name         string
		room         int64
		failTruncate bool
		failCreate   bool
		// segment makes the failing call start a new segment.
		segment int64
	}{
		{name: "no room at all", room: 0},
		{name: "part of the record written", room: 1000},
		{name: "all but the last byte written", room: 4096 + 20},
		{name: "truncate fails too", room: 1000, failTruncate: true},
		{name: "new segment cannot be created", room: -1, failCreate: true, segment: 8 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			d := &disk{room: -1}
			opts := testOptions(1 << 20)
			if tt.segment > 0 {
				opts.maxSegmentSize = tt.segment
			}
			opts.openFile = d.open
			opts.removeFile = d.remove
			s := mustOpen(t, dir, opts)
			model := map[string]string{}
			for i := range 3 {
				c := call{set("meta", fmt.Sprint(i)), set(fmt.Sprint(i), value)}
				require.NoError(t, s.batch(c))
				applyModel(model, c)
			}
			sizeBefore := s.active().size

			d.set(tt.room, tt.failTruncate, tt.failCreate)
			for i := range 3 {
				err := s.batch(call{set("meta", "lost"), set(fmt.Sprint("lost", i), value), del("0")})
				require.Error(t, err)
				if i == 0 || !tt.failTruncate {
					assert.ErrorIs(t, err, syscall.ENOSPC)
					assert.ErrorIs(t, err, storage.ErrStorageFull)
				} else {
					// The partial record is still there: no write until
					// it is gone.
					assert.ErrorContains(t, err, "truncate segment")
				}
				assert.Equal(t, model, contents(t, s), "a failed call changes nothing")
			}
			if !tt.failTruncate {
				fi, err := os.Stat(s.active().path)
				require.NoError(t, err)
				assert.Equal(t, sizeBefore, fi.Size(), "the partial record is truncated away")
			}

			// Space comes back.
			d.set(-1, false, false)
			c := call{set("meta", "back"), set("back", value), del("1")}
			require.NoError(t, s.batch(c))
			applyModel(model, c)
			assert.Equal(t, model, contents(t, s))
			require.NoError(t, s.close())

			s2 := mustOpen(t, dir, testOptions(1<<20))
			assert.Equal(t, model, contents(t, s2), "after a restart")
			assert.Zero(t, s2.recovered.bytesLost, "no partial record was left behind")
		})
	}
}

// TestReserveKeepsTheQueueDraining fills the disk, as a queue whose
// exporter is down does: new items are refused, but reads and deletes
// still work, so the queue drains once the exporter is back, and the
// deletes free the room for new items.
func TestReserveKeepsTheQueueDraining(t *testing.T) {
	dir := t.TempDir()
	d := &disk{room: 200 << 10}
	opts := testOptions(8 << 10)
	opts.openFile = d.open
	opts.removeFile = d.remove
	now := time.Unix(1e9, 0)
	opts.now = func() time.Time { return now }
	s := mustOpen(t, dir, opts)
	require.True(t, s.haveReserve)

	value := strings.Repeat("i", 1000)
	model := map[string]string{}
	put := func(i int) error {
		c := call{set("meta", fmt.Sprint("w", i)), set(fmt.Sprint(i), value)}
		err := s.batch(c)
		if err == nil {
			applyModel(model, c)
		}
		return err
	}
	n := 0
	for ; n < 1000; n++ {
		if err := put(n); err != nil {
			require.ErrorIs(t, err, storage.ErrStorageFull)
			break
		}
	}
	require.Less(t, n, 1000, "the disk fills")
	d.set(0, false, false)           // and something else takes the last bytes
	meta := strings.Repeat("m", 200) // the queue's metadata grows with the items in dispatch
	require.NoError(t, s.batch(call{set("meta", meta)}), "an overwrite still fits, in the reserve's room")
	applyModel(model, call{set("meta", meta)})
	assert.False(t, s.haveReserve)
	assert.ErrorIs(t, put(n), storage.ErrStorageFull, "new items are still refused")
	now = now.Add(time.Minute)
	assert.ErrorIs(t, put(n), storage.ErrStorageFull, "and still, while no reserve fits")

	for i := range n {
		read := get(fmt.Sprint(i))
		require.NoError(t, s.batch(call{set("meta", fmt.Sprint("r", i)), read}), "read %d", i)
		require.Equal(t, value, string(read.Value))
		c := call{set("meta", fmt.Sprint("d", i)), del(fmt.Sprint(i))}
		require.NoError(t, s.batch(c), "delete %d", i)
		applyModel(model, c)
	}
	assert.True(t, s.haveReserve, "the reserve is back once segments are freed")
	for i := n; i < n+50; i++ {
		require.NoError(t, put(i), "room again for item %d", i)
	}
	assert.Equal(t, model, contents(t, s))
	require.NoError(t, s.close())
	assert.Equal(t, model, contents(t, mustOpen(t, dir, testOptions(8<<10))))
}

// TestReserveComesBackWhenSpaceDoes: a disk filled by something else, with
// nothing of the store's own to delete, works again once that something
// else frees space.
func TestReserveComesBackWhenSpaceDoes(t *testing.T) {
	d := &disk{room: -1}
	opts := testOptions(1 << 20)
	opts.openFile = d.open
	opts.removeFile = d.remove
	now := time.Unix(1e9, 0)
	opts.now = func() time.Time { return now }
	s := mustOpen(t, t.TempDir(), opts)
	big := call{set("meta", "w"), set("item", strings.Repeat("i", 500))}
	require.NoError(t, s.batch(call{set("meta", "0")}))

	d.set(0, false, false)
	require.ErrorIs(t, s.batch(big), storage.ErrStorageFull)
	require.NoError(t, s.batch(call{set("meta", "r")}), "an overwrite, in the reserve's room")
	require.ErrorIs(t, s.batch(call{set("other", "x")}), errNoReserve, "a new key, even small, is refused")
	require.False(t, s.haveReserve)
	require.ErrorIs(t, s.batch(big), errNoReserve, "no room to write the reserve again")

	d.set(-1, false, false) // space comes back
	require.ErrorIs(t, s.batch(big), errNoReserve, "the reserve was tried less than a second ago")
	now = now.Add(reserveRetry)
	require.NoError(t, s.batch(big))
	assert.True(t, s.haveReserve)
	assert.Equal(t, map[string]string{"meta": "w", "item": strings.Repeat("i", 500)}, contents(t, s))
}

// TestFullTmpfs fills a real 1 MiB tmpfs. It needs root to mount one.
func TestFullTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root; run the tests as root to fill a real disk")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	dir := filepath.Join(mnt, "store")
	s, err := openStore(dir, testOptions(128<<10))
	require.NoError(t, err)
	value := strings.Repeat("q", 16<<10)
	model := map[string]string{}
	var full error
	written := 0
	for i := range 1000 {
		c := call{set("meta", fmt.Sprint("w", i)), set(fmt.Sprint(i), value)}
		if err := s.batch(c); err != nil {
			full = err
			break
		}
		applyModel(model, c)
		written++
	}
	require.Error(t, full, "1 MiB should not hold 16 MB")
	require.ErrorIs(t, full, syscall.ENOSPC)
	require.ErrorIs(t, full, storage.ErrStorageFull)
	assert.Greater(t, written, 10)
	assert.Equal(t, model, contents(t, s))

	// Something else on the disk goes away: the store works again.
	require.NoError(t, s.close())
	s, err = openStore(dir, testOptions(128<<10))
	require.NoError(t, err)
	assert.Equal(t, model, contents(t, s), "nothing half-written after ENOSPC")
	// The exporter catches up: the queue reads and deletes every item, in
	// the reserve's room, and the deletes free segments.
	for i := 0; i < written; i++ {
		read := get(fmt.Sprint(i))
		require.NoError(t, s.batch(call{set("meta", fmt.Sprint("r", i)), read}), "read %d", i)
		require.Equal(t, value, string(read.Value))
		c := call{set("meta", fmt.Sprint("d", i)), del(fmt.Sprint(i))}
		require.NoError(t, s.batch(c), "delete %d", i)
		applyModel(model, c)
	}
	for i := range 10 {
		c := call{set("meta", fmt.Sprint("again", i)), set(fmt.Sprint("again", i), value)}
		require.NoError(t, s.batch(c))
		applyModel(model, c)
	}
	require.NoError(t, s.close())
	s, err = openStore(dir, testOptions(128<<10))
	require.NoError(t, err)
	assert.Equal(t, model, contents(t, s))
	require.NoError(t, s.close())
	t.Logf("filled after %d calls of 16 KiB; read and deleted them all, then wrote again", written)
}
