package drill_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/braidobs/braid/drill"
)

func FuzzDecodeWebhook(f *testing.F) {
	for _, p := range []string{"testdata/alert_pod.json", "testdata/alert_no_scope.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":"4","alerts":[{"startsAt":"2026-11-26T12:00:00Z","labels":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := drill.DecodeWebhook(bytes.NewReader(b))
		if err == nil && len(p.Alerts) == 0 {
			t.Fatal("a payload without alerts was accepted")
		}
	})
}

func FuzzParseTraceID(f *testing.F) {
	for _, s := range []string{"4bf92f3577b34da6a3ce929d0e0e4736", "a3ce929d0e0e4736", "", "00000000000000000000000000000000", "zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := drill.ParseTraceID(s)
		if err == nil && id.IsEmpty() {
			t.Fatal("an all-zero trace id was accepted")
		}
	})
}
