package walstorageextension

import (
	"errors"
	"fmt"
	"os"

	"go.opentelemetry.io/collector/component"
)

// Config is the wal_storage extension's configuration.
type Config struct {
	// Directory holds one subdirectory of segment files per component
	// using the storage. Required.
	Directory string `mapstructure:"directory"`

	// CreateDirectory creates Directory at start when it does not exist
	// (default false: a missing directory is a configuration error).
	CreateDirectory bool `mapstructure:"create_directory"`

	// MaxSegmentSizeMiB is the size at which a segment file is closed and
	// the next one started (default 64). Whole segments are what is freed
	// on disk, so smaller segments free space sooner at the cost of more
	// files.
	MaxSegmentSizeMiB int `mapstructure:"max_segment_size_mib"`

	// FSync syncs each write to the disk before the call returns (default
	// false). Without it a process crash loses nothing written, but a
	// machine crash or power loss can lose the last writes.
	FSync bool `mapstructure:"fsync"`
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{MaxSegmentSizeMiB: 64}
}

// Validate checks the configuration, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.Directory == "" {
		errs = append(errs, errors.New("directory must be set"))
	} else if fi, err := os.Stat(c.Directory); err == nil {
		if !fi.IsDir() {
			errs = append(errs, fmt.Errorf("directory %q is not a directory", c.Directory))
		}
	} else if !os.IsNotExist(err) {
		errs = append(errs, fmt.Errorf("directory %q: %w", c.Directory, err))
	} else if !c.CreateDirectory {
		errs = append(errs, fmt.Errorf("directory %q does not exist (create_directory: true creates it)", c.Directory))
	}
	if c.MaxSegmentSizeMiB <= 0 || c.MaxSegmentSizeMiB > 4095 {
		errs = append(errs, fmt.Errorf("max_segment_size_mib must be between 1 and 4095, got %d", c.MaxSegmentSizeMiB))
	}
	return errors.Join(errs...)
}
