//go:build !unix

package walstorageextension

import "os"

// lockDir does nothing where flock is missing: only one process may use a
// directory, and nothing checks it.
func lockDir(string) (*os.File, error) { return nil, nil }
