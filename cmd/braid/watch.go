package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// watchDebounce is how long the configuration files must stay unchanged
// before a change is reloaded: editors and kubelet write in several steps.
const watchDebounce = time.Second

// watchConfigFiles reloads through r when one of paths changes, until stop
// is called. It watches each file's directory rather than the file, because
// a Kubernetes ConfigMap volume replaces its files by swapping the ..data
// symlink to a new directory, and editors often replace a file by renaming
// a new one over it: a watch on the file itself would stay on the old inode.
func watchConfigFiles(r *configReloader, paths []string, debounce time.Duration) (stop func(), err error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch configuration files: %w", err)
	}
	names := map[string]map[string]bool{} // directory → file names in it
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("watch %s: %w", p, err)
		}
		dir := filepath.Dir(abs)
		if names[dir] == nil {
			if err := w.Add(dir); err != nil {
				w.Close()
				return nil, fmt.Errorf("watch %s: %w", dir, err)
			}
			names[dir] = map[string]bool{}
		}
		names[dir][filepath.Base(abs)] = true
	}
	relevant := func(name string) bool {
		base := filepath.Base(name)
		// ..data, ..data_tmp and the timestamped directories of a ConfigMap.
		return names[filepath.Dir(name)][base] || strings.HasPrefix(base, "..")
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		timer := time.NewTimer(debounce)
		timer.Stop()
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if relevant(ev.Name) && ev.Op != fsnotify.Chmod {
					timer.Reset(debounce)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				r.log().Warn("Watching the configuration files", zap.Error(err))
			case <-timer.C:
				reloadCtx, cancelReload := context.WithTimeout(ctx, reloadTimeout)
				// Reload logs what it refuses or applies.
				_ = r.Reload(reloadCtx, "file change")
				cancelReload()
			}
		}
	}()
	return func() {
		cancel()
		w.Close()
		wg.Wait()
	}, nil
}
