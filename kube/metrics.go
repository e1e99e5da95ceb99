package kube

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const scopeName = "github.com/braidobs/braid/kube"

type lookupKind int

const (
	kindUID lookupKind = iota
	kindIP
	kindName
	kindLogPath
	numKinds
)

var kindNames = [numKinds]string{"uid", "ip", "name", "log_path"}

// metrics holds the resolver's self-metrics, with every attribute set built
// once so that counting a look-up does not allocate.
type metrics struct {
	lookups   metric.Int64Counter
	badInput  metric.Int64Counter
	hit, miss [numKinds][]metric.AddOption
	bad       [numKinds][]metric.AddOption
	reg       metric.Registration
}

func newMetrics(mp metric.MeterProvider, r *Resolver) *metrics {
	meter := mp.Meter(scopeName)
	m := &metrics{}
	// The API's constructors never return a nil instrument: on error they
	// return a no-op one, so the errors can be ignored.
	m.lookups, _ = meter.Int64Counter("braid_k8s_lookups",
		metric.WithDescription("Pod look-ups in the Kubernetes pod cache, by kind (uid, ip, name) and result (hit, miss)."),
		metric.WithUnit("{lookup}"))
	m.badInput, _ = meter.Int64Counter("braid_k8s_lookups_malformed",
		metric.WithDescription("Pod look-ups refused because the UID, IP, name or log path was malformed, by kind."),
		metric.WithUnit("{lookup}"))
	cached, _ := meter.Int64ObservableGauge("braid_k8s_pods_cached",
		metric.WithDescription("Pods in the Kubernetes pod cache, deleted ones in their grace period included."),
		metric.WithUnit("{pod}"))
	for k := range numKinds {
		kind := attribute.String("kind", kindNames[k])
		m.hit[k] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kind, attribute.String("result", "hit")))}
		m.miss[k] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kind, attribute.String("result", "miss")))}
		m.bad[k] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kind))}
	}
	m.reg, _ = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(cached, int64(r.Len()))
		return nil
	}, cached)
	return m
}

func (m *metrics) lookup(k lookupKind, hit bool) {
	if hit {
		m.lookups.Add(context.Background(), 1, m.hit[k]...)
	} else {
		m.lookups.Add(context.Background(), 1, m.miss[k]...)
	}
}

func (m *metrics) malformed(k lookupKind) {
	m.badInput.Add(context.Background(), 1, m.bad[k]...)
}

func (m *metrics) unregister() {
	if m.reg != nil {
		_ = m.reg.Unregister()
		m.reg = nil
	}
}
