//go:build !unix

package walstorageextension

import "os"

// lockDir cannot lock where flock is missing: only one process may use a
// directory, and nothing checks it.
func lockDir(string) (*os.File, error) { return nil, errNoLock }
