package walstorageextension

import (
	"context"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// client is the storage.Client of one component, over its own store.
type client struct {
	store   *store
	onClose func()
}

var (
	_ storage.Client = (*client)(nil)
	_ storage.Walker = (*client)(nil)
)

func (c *client) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.store.mu.RLock()
	defer c.store.mu.RUnlock()
	if c.store.closed {
		return nil, errClosed
	}
	return c.store.get(key)
}

func (c *client) Set(ctx context.Context, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := storage.Operation{Key: key, Value: value, Type: storage.Set}
	return c.store.batch([]*storage.Operation{&op})
}

func (c *client) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := storage.Operation{Key: key, Type: storage.Delete}
	return c.store.batch([]*storage.Operation{&op})
}

func (c *client) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.store.batch(ops)
}

// Walk calls fn for every key and value, in key order, and applies the ops
// fn returns as one call, atomic like a Batch. The store is locked during
// the walk: fn must not call the client.
func (c *client) Walk(ctx context.Context, fn storage.WalkFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.store.walk(ctx, fn)
}

// Close closes the store; calls after it fail, a second Close does nothing.
func (c *client) Close(context.Context) error {
	err := c.store.close()
	if c.onClose != nil {
		c.onClose()
		c.onClose = nil
	}
	return err
}
