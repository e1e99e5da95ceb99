package kube_test

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/braidobs/braid/kube"
)

// A resolver over client-go's fake clientset: how tests of components that
// use the pod cache get one.
func ExampleNewResolver() {
	client := fake.NewClientset(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "shop", Name: "checkout-1", UID: "0f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b",
			Labels: map[string]string{"app.kubernetes.io/name": "checkout"},
		},
		Spec:   corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.5"},
	})
	cfg := kube.DefaultConfig()
	cfg.ClusterName = "prod-eu"
	r, err := kube.NewResolver(cfg, client)
	if err != nil {
		panic(err)
	}
	if err := r.Start(context.Background()); err != nil {
		panic(err)
	}
	defer r.Shutdown()

	p, ok := r.ByIP("10.0.0.5:51234")
	fmt.Println(ok, p.Namespace, p.Name, p.ContainerName, p.ServiceName, p.ClusterName)
	// Output: true shop checkout-1 app checkout prod-eu
}
