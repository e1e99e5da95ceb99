package loadbalancingexporter

import (
	"context"
	"net"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// resolver tells the exporter the current set of backends.
type resolver interface {
	// start calls onChange with the first set before it returns, and
	// again whenever the set changes, until stop.
	start(ctx context.Context, onChange func([]string)) error
	stop()
}

type staticResolver struct{ endpoints []string }

func (s staticResolver) start(_ context.Context, onChange func([]string)) error {
	onChange(slices.Clone(s.endpoints))
	return nil
}

func (staticResolver) stop() {}

// lookupFunc is net.Resolver.LookupHost's shape, for tests.
type lookupFunc func(ctx context.Context, host string) ([]string, error)

type dnsResolver struct {
	cfg    DNSResolver
	lookup lookupFunc
	logger *zap.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (d *dnsResolver) resolve(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	addrs, err := d.lookup(ctx, d.cfg.Hostname)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if d.cfg.Port == "" {
			out = append(out, a)
			continue
		}
		out = append(out, net.JoinHostPort(a, d.cfg.Port))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// start resolves once (an error then is logged, not returned: the name may
// have no address yet while the gateways start), then every interval. A
// failed lookup keeps the last set.
func (d *dnsResolver) start(ctx context.Context, onChange func([]string)) error {
	var last []string
	tick := func(ctx context.Context) {
		eps, err := d.resolve(ctx)
		if err != nil {
			d.logger.Warn("cannot resolve the backends; keeping the last set", zap.String("hostname", d.cfg.Hostname), zap.Strings("endpoints", last), zap.Error(err))
			return
		}
		if len(eps) == 0 {
			d.logger.Warn("the backends' name resolves to no address; keeping the last set", zap.String("hostname", d.cfg.Hostname))
			return
		}
		if !slices.Equal(eps, last) {
			d.logger.Info("backends changed", zap.Strings("endpoints", eps), zap.Strings("before", last))
			last = eps
			onChange(slices.Clone(eps))
		}
	}
	tick(ctx)
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(d.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				tick(ctx)
			}
		}
	}()
	return nil
}

func (d *dnsResolver) stop() {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
}
