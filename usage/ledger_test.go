package usage_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/usage"
)

func ns(name string) usage.Key {
	return usage.Key{Namespace: name, Workload: name + "-app", Service: name + "-svc"}
}

func snapshot(l *usage.Ledger) map[usage.Key]usage.Counts {
	out := map[usage.Key]usage.Counts{}
	l.Each(func(k usage.Key, c usage.Counts) { out[k] = c })
	return out
}

func total(m map[usage.Key]usage.Counts) usage.Counts {
	var t usage.Counts
	for _, c := range m {
		t.Items += c.Items
		t.Bytes += c.Bytes
	}
	return t
}

func TestLimitsNameTheBadKey(t *testing.T) {
	for _, tc := range []struct {
		limits  usage.Limits
		wantErr string
	}{
		{usage.Limits{TopN: 1, Candidates: 1}, ""},
		{usage.Limits{TopN: 0, Candidates: 1}, "top_n: must be positive, got 0"},
		{usage.Limits{TopN: 3, Candidates: -2}, "candidates: must be positive, got -2"},
	} {
		_, err := usage.NewLedger(tc.limits)
		if tc.wantErr == "" {
			assert.NoError(t, err)
		} else {
			assert.EqualError(t, err, tc.wantErr)
		}
	}
}

// send is one Add of a table case.
type send struct {
	key          string
	items, bytes int64
}

func TestLedgerNamesTheTopKeysAndFoldsTheRest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits usage.Limits
		// before is sent, then the ledger ranks, then after is sent.
		before, after []send
		want          map[string]usage.Counts // "other" for usage.Other
	}{
		{
			name:   "under the limit every key is named at once",
			limits: usage.Limits{TopN: 3, Candidates: 2},
			after:  []send{{"a", 1, 100}, {"b", 2, 200}, {"a", 1, 50}},
			want:   map[string]usage.Counts{"a": {2, 150}, "b": {2, 200}},
		},
		{
			name:   "keys past the top N go to other until ranked",
			limits: usage.Limits{TopN: 2, Candidates: 4},
			after:  []send{{"a", 1, 10}, {"b", 1, 10}, {"c", 5, 5000}, {"d", 1, 1}},
			want:   map[string]usage.Counts{"a": {1, 10}, "b": {1, 10}, "other": {6, 5001}},
		},
		{
			name:   "ranking names the biggest senders by bytes",
			limits: usage.Limits{TopN: 2, Candidates: 4},
			before: []send{{"a", 1, 10}, {"b", 1, 10}, {"c", 5, 5000}, {"d", 100, 1000}},
			after:  []send{{"a", 1, 10}, {"c", 1, 700}, {"d", 1, 70}},
			// c and d take over; a and b lose their series (what they
			// sent was exported under their names); what c and d sent
			// before counts in other, never twice.
			want: map[string]usage.Counts{"c": {1, 700}, "d": {1, 70}, "other": {106, 6010}},
		},
		{
			name:   "a key with no bytes ranks by items",
			limits: usage.Limits{TopN: 1, Candidates: 2},
			before: []send{{"a", 1, 0}, {"b", 9, 0}},
			after:  []send{{"b", 1, 0}},
			want:   map[string]usage.Counts{"b": {1, 0}, "other": {9, 0}},
		},
		{
			name:   "a flood of one-off keys never takes a named key's place",
			limits: usage.Limits{TopN: 1, Candidates: 2},
			before: []send{{"big", 1, 100}, {"x1", 1, 1}, {"x2", 1, 1}, {"x3", 1, 1}, {"x4", 1, 1}},
			after:  []send{{"big", 1, 100}, {"x5", 1, 1}},
			want:   map[string]usage.Counts{"big": {2, 200}, "other": {5, 5}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := usage.NewLedger(tc.limits)
			require.NoError(t, err)
			var sent usage.Counts
			for _, s := range tc.before {
				l.Add(ns(s.key), s.items, s.bytes)
				sent.Items += s.items
				sent.Bytes += s.bytes
			}
			if len(tc.before) > 0 {
				l.Rank()
			}
			for _, s := range tc.after {
				l.Add(ns(s.key), s.items, s.bytes)
				sent.Items += s.items
				sent.Bytes += s.bytes
			}
			want := map[usage.Key]usage.Counts{}
			for k, c := range tc.want {
				if k == "other" {
					want[usage.Other] = c
				} else {
					want[ns(k)] = c
				}
			}
			got := snapshot(l)
			assert.Equal(t, want, got)
			if len(tc.before) == 0 {
				// Nothing lost, nothing counted twice (without a Rank, no
				// series was dropped).
				assert.Equal(t, sent, total(got))
			}
			assert.LessOrEqual(t, l.Tracked(), tc.limits.TopN+tc.limits.Candidates)
		})
	}
}

func TestAGrowingKeyIsPromotedPastOneOffKeys(t *testing.T) {
	l, err := usage.NewLedger(usage.Limits{TopN: 2, Candidates: 3})
	require.NoError(t, err)
	l.Add(ns("a"), 1, 10)
	l.Add(ns("b"), 1, 10)
	for round := range 5 {
		// Fresh one-off keys every round, more of them than candidates,
		// and one steady sender that arrived late.
		for i := range 10 {
			l.Add(ns(fmt.Sprintf("once-%d-%d", round, i)), 1, 5)
		}
		l.Add(ns("steady"), 10, 1000)
		l.Add(ns("a"), 1, 10)
		l.Rank()
	}
	got := snapshot(l)
	assert.Contains(t, got, ns("steady"))
	assert.LessOrEqual(t, l.Tracked(), 5)
	assert.Len(t, got, 3, "two named keys and other: %v", got)
}

func TestRankKeepsNamesOnTies(t *testing.T) {
	l, err := usage.NewLedger(usage.Limits{TopN: 1, Candidates: 1})
	require.NoError(t, err)
	for range 4 {
		l.Add(ns("first"), 1, 100)
		l.Add(ns("second"), 1, 100)
		l.Rank()
	}
	assert.Equal(t, usage.Counts{Items: 4, Bytes: 400}, snapshot(l)[ns("first")])
}

func TestConcurrentAddsAreAllCounted(t *testing.T) {
	l, err := usage.NewLedger(usage.Limits{TopN: 4, Candidates: 4})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				l.Add(ns(fmt.Sprintf("ns-%d", (w+i)%6)), 1, 3)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, usage.Counts{Items: 8000, Bytes: 24000}, total(snapshot(l)))
}

func TestKeyOfReadsThePodIdentity(t *testing.T) {
	for _, tc := range []struct {
		name  string
		attrs map[string]any
		want  usage.Key
	}{
		{"nothing known", map[string]any{}, usage.Key{Namespace: "unknown", Workload: "unknown", Service: "unknown"}},
		{"deployment", map[string]any{
			"k8s.namespace.name": "shop", "k8s.deployment.name": "cart", "k8s.replicaset.name": "cart-5d9",
			"service.name": "cart-api",
		}, usage.Key{Namespace: "shop", Workload: "cart", Service: "cart-api"}},
		{"replicaset only", map[string]any{"k8s.namespace.name": "shop", "k8s.replicaset.name": "cart-5d9"},
			usage.Key{Namespace: "shop", Workload: "cart-5d9", Service: "unknown"}},
		{"cronjob over job", map[string]any{"k8s.namespace.name": "ops", "k8s.job.name": "backup-123", "k8s.cronjob.name": "backup"},
			usage.Key{Namespace: "ops", Workload: "backup", Service: "unknown"}},
		{"not a string", map[string]any{"k8s.namespace.name": 42, "service.name": "x"},
			usage.Key{Namespace: "unknown", Workload: "unknown", Service: "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := pcommon.NewMap()
			require.NoError(t, m.FromRaw(tc.attrs))
			assert.Equal(t, tc.want, usage.KeyOf(m))
		})
	}
}

var benchSink usage.Key

func BenchmarkLedgerAdd(b *testing.B) {
	for _, keys := range []int{10, 1000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			l, err := usage.NewLedger(usage.Limits{TopN: 20, Candidates: 60})
			require.NoError(b, err)
			ks := make([]usage.Key, keys)
			for i := range ks {
				ks[i] = ns(fmt.Sprintf("namespace-%d", i))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				l.Add(ks[i%keys], 10, 2048)
				i++
			}
		})
	}
}

func BenchmarkKeyOf(b *testing.B) {
	m := pcommon.NewMap()
	require.NoError(b, m.FromRaw(map[string]any{
		"k8s.namespace.name": "shop", "k8s.pod.name": "cart-5d9-x7", "k8s.pod.uid": "0b9e3f5e-1",
		"k8s.deployment.name": "cart", "k8s.replicaset.name": "cart-5d9", "k8s.node.name": "node-1",
		"k8s.container.name": "cart", "service.name": "cart-api", "service.version": "1.2.3",
		"host.name": "node-1", "telemetry.sdk.language": "go",
	}))
	b.ReportAllocs()
	for b.Loop() {
		benchSink = usage.KeyOf(m)
	}
}
