package walstorageextension

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// disk is a pretend disk with room for a given number of bytes more: a
// write beyond it writes what fits and fails with ENOSPC, as a real full
// disk does.
type disk struct {
	mu            sync.Mutex // guards the fields below
	room          int64      // bytes that can still be written; <0 is unlimited
	failTruncate  bool
	failCreate    bool
	truncateCalls int
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
	f.d.truncateCalls++
	if f.d.failTruncate {
		return &os.PathError{Op: "truncate", Path: f.Name(), Err: syscall.EIO}
	}
	return f.File.Truncate(size)
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
	// Free space by deleting the oldest items, as the queue does once its
	// exporter catches up (a delete record is small, it fits in the last
	// partly used page, or the tmpfs has a little room left).
	deleted := 0
	for i := 0; i < written; i++ {
		c := call{set("meta", fmt.Sprint("r", i)), del(fmt.Sprint(i))}
		if err := s.batch(c); err != nil {
			break
		}
		applyModel(model, c)
		deleted++
	}
	assert.Equal(t, written, deleted, "deletes free segments as they go")
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
	if errors.Is(full, syscall.ENOSPC) {
		t.Logf("filled after %d calls of 16 KiB; wrote again after deleting them", written)
	}
}
