package kube_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/braidobs/braid/correlate"
	"github.com/braidobs/braid/kube"
)

var benchPod correlate.Pod

// BenchmarkLookup measures look-ups in caches of a node's pods (agent) and a
// large cluster's (gateway).
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{110, 10000} {
		objs := make([]runtime.Object, 0, n+1)
		objs = append(objs, replicaSet("shop", "web-5c", "web"))
		for i := range n {
			objs = append(objs, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: "shop", Name: fmt.Sprintf("web-5c-%05d", i),
					UID:             types.UID(fmt.Sprintf("0f4a1b2c-3d4e-4f50-8a6b-%012d", i)),
					Labels:          map[string]string{"app.kubernetes.io/version": "1.0"},
					OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-5c"}},
				},
				Spec:   corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app"}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)},
			})
		}
		r, err := kube.NewResolver(kube.DefaultConfig(), fake.NewClientset(objs...))
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		uid := fmt.Sprintf("0f4a1b2c-3d4e-4f50-8a6b-%012d", n/2)
		ip := fmt.Sprintf("10.%d.%d.%d:43210", n/2>>16&255, n/2>>8&255, n/2&255)
		name := fmt.Sprintf("web-5c-%05d", n/2)
		for _, bc := range []struct {
			name   string
			lookup func() (correlate.Pod, bool)
		}{
			{"uid", func() (correlate.Pod, bool) { return r.ByUID(uid) }},
			{"ip", func() (correlate.Pod, bool) { return r.ByIP(ip) }},
			{"name", func() (correlate.Pod, bool) { return r.ByName("shop", name) }},
			{"miss", func() (correlate.Pod, bool) { return r.ByIP("192.0.2.1") }},
		} {
			b.Run(fmt.Sprintf("pods=%d/%s", n, bc.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					benchPod, _ = bc.lookup()
				}
			})
		}
		r.Shutdown()
	}
}
