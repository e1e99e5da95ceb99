package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// NamespaceLoad is what one namespace sends in a RunNamespaces run.
type NamespaceLoad struct {
	Namespace string
	// Rate is its items per second; Senders its senders, each with one
	// request in flight.
	Rate    float64
	Senders int
	// HonorRetryInfo makes its senders wait the delay a refusal asks for.
	HonorRetryInfo bool
}

// FloodLoads is n namespaces, flood-0 sending factor times the rate of each
// of the others (ns-1 … ns-<n-1>), the total being rate: the noisy
// neighbour. The others have one sender each and back off as
// OpenTelemetry's exporters do; flood-0 has floodSenders and sends again at
// once when refused.
func FloodLoads(n int, factor, rate float64, floodSenders int) ([]NamespaceLoad, error) {
	if n < 2 || !(factor > 0) || !(rate > 0) || floodSenders <= 0 {
		return nil, fmt.Errorf("want at least 2 namespaces, a positive factor, rate and flood senders; got %d, %g, %g, %d", n, factor, rate, floodSenders)
	}
	each := rate / (float64(n-1) + factor)
	loads := []NamespaceLoad{{Namespace: "flood-0", Rate: factor * each, Senders: floodSenders}}
	for i := 1; i < n; i++ {
		loads = append(loads, NamespaceLoad{Namespace: fmt.Sprintf("ns-%d", i), Rate: each, Senders: 1, HonorRetryInfo: true})
	}
	return loads, nil
}

// RunNamespaces runs one load per namespace at once, each base with the
// namespace's shape, rate and senders over one connection, and returns what
// each namespace's senders saw.
func RunNamespaces(ctx context.Context, base LoadConfig, loads []NamespaceLoad) (map[string]Result, error) {
	if len(loads) == 0 {
		return nil, errors.New("no namespaces to send from")
	}
	results := make(map[string]Result, len(loads))
	var mu sync.Mutex // guards results and errs
	var errs []error
	var wg sync.WaitGroup
	for i, l := range loads {
		cfg := base
		cfg.Shape.Namespace = l.Namespace
		cfg.Rate, cfg.Connections, cfg.SendersPerConnection = l.Rate, 1, l.Senders
		cfg.HonorRetryInfo = l.HonorRetryInfo
		cfg.Seed = base.Seed + uint64(1000*i)
		wg.Go(func() {
			r, err := Run(ctx, cfg, nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("namespace %s: %w", l.Namespace, err))
				return
			}
			results[l.Namespace] = r
		})
	}
	wg.Wait()
	return results, errors.Join(errs...)
}
