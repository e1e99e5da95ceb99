package correlate

import (
	"sync"
	"testing"
)

func TestDelayBudget(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		want  int
	}{{"bounded", 3, 3}, {"zero holds nothing", 0, 0}, {"negative holds nothing", -1, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewDelayBudget(tc.limit)
			got := 0
			for range 10 {
				if b.Reserve() {
					got++
				}
			}
			if got != tc.want || b.Held() != int64(tc.want) {
				t.Fatalf("reserved %d (held %d), want %d", got, b.Held(), tc.want)
			}
			b.Release(got)
			if b.Held() != 0 {
				t.Errorf("held %d after release", b.Held())
			}
		})
	}
}

// Concurrent reservations never take more than the limit.
func TestDelayBudgetConcurrent(t *testing.T) {
	b := NewDelayBudget(100)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for range 1000 {
				if b.Reserve() {
					n++
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 100 {
		t.Errorf("reserved %d, want 100", total)
	}
}
