package correlate

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The attribute table (ApplyPod, Merge) and the switch of PodFromAttributes
// must pair the same keys with the same fields, and cover every string field
// but the IP, which has no resource attribute.
func TestPodAttributesAgreeWithPodFromAttributes(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range podAttributes {
		t.Run(a.key, func(t *testing.T) {
			attrs := pcommon.NewMap()
			attrs.PutStr(a.key, "v-"+a.key)
			p := PodFromAttributes(attrs)
			assert.Equal(t, "v-"+a.key, *a.field(&p), "PodFromAttributes reads %s into the table's field", a.key)
			p2 := p
			*a.field(&p2) = ""
			assert.Equal(t, Pod{}, p2, "PodFromAttributes sets no other field from %s", a.key)

			out := pcommon.NewMap()
			require.True(t, ApplyPod(out, p))
			assert.Equal(t, map[string]any{a.key: "v-" + a.key}, out.AsRaw())
		})
		seen[a.key] = true
	}
	fields := reflect.TypeOf(Pod{})
	stringFields := 0
	for i := range fields.NumField() {
		if fields.Field(i).Type.Kind() == reflect.String {
			stringFields++
		}
	}
	assert.Equal(t, stringFields-1, len(seen), "every string field but IP has its attribute")
}

func TestMergeFillsOnlyEmptyFields(t *testing.T) {
	p := Pod{Name: "a", IP: "10.0.0.1"}
	o := Pod{Name: "b", Namespace: "shop", IP: "10.0.0.2", ServiceVersion: "1.2", Labels: map[string]string{"app": "x"}}
	got := p.Merge(o)
	assert.Equal(t, Pod{Name: "a", Namespace: "shop", IP: "10.0.0.1", ServiceVersion: "1.2", Labels: map[string]string{"app": "x"}}, got)
}
