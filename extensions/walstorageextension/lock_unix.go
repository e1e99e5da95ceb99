//go:build unix

package walstorageextension

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

const lockName = "LOCK"

// lockDir takes an exclusive lock on dir that the operating system
// releases when the process ends, however it ends, so that two processes
// never append to the same segments.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("storage directory %s is in use by another process", dir)
		}
		// Some filesystems (NFS without lock support) have no flock:
		// going on without the lock beats failing the start.
		return nil, fmt.Errorf("%w: %s: %w", errNoLock, path, err)
	}
	return f, nil
}
