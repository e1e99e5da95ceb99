package kube

import (
	"testing"

	"github.com/stretchr/testify/assert"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func TestStripPodKeepsOnlyWhatIsRead(t *testing.T) {
	yes := true
	in := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-1", Namespace: "shop", UID: "u", ResourceVersion: "7",
			Labels:        map[string]string{"app": "web"},
			Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{…}"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
			OwnerReferences: []metav1.OwnerReference{
				{Kind: "Node", Name: "n"},
				{Kind: "ReplicaSet", Name: "web-5c", Controller: &yes, UID: "rs"},
			},
		},
		Spec: corev1.PodSpec{
			NodeName: "node-a", HostNetwork: true,
			Containers:     []corev1.Container{{Name: "app", Image: "x", Env: []corev1.EnvVar{{Name: "SECRET", Value: "s"}}}},
			InitContainers: []corev1.Container{{Name: "init"}},
			Volumes:        []corev1.Volume{{Name: "v"}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}}, HostIP: "192.168.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady}},
		},
	}
	out, err := stripPod(in)
	assert.NoError(t, err)
	assert.Equal(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-1", Namespace: "shop", UID: "u", ResourceVersion: "7",
			Labels:          map[string]string{"app": "web"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-5c", Controller: &yes}},
		},
		Spec: corev1.PodSpec{NodeName: "node-a", HostNetwork: true, Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}}, HostIP: "192.168.0.1",
		},
	}, out)

	tomb := cache.DeletedFinalStateUnknown{Key: "shop/web-1", Obj: in}
	out, err = stripPod(tomb)
	assert.NoError(t, err)
	assert.Equal(t, tomb, out, "tombstones pass through to the delete handler")
}

func TestStripReplicaSet(t *testing.T) {
	yes := true
	in := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5c", Namespace: "shop", UID: "rs", ResourceVersion: "3",
			Labels:          map[string]string{"pod-template-hash": "5c"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "web", Controller: &yes}}},
		Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}},
	}
	out, err := stripReplicaSet(in)
	assert.NoError(t, err)
	assert.Equal(t, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-5c", Namespace: "shop", UID: "rs", ResourceVersion: "3",
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "web", Controller: &yes}}}}, out)
}

func TestCronJobOf(t *testing.T) {
	for job, want := range map[string]string{
		"nightly-29443680":    "nightly",
		"db-backup-29443680":  "db-backup",
		"migrate-42":          "",
		"29443680":            "",
		"-29443680":           "",
		"nightly29443680":     "",
		"nightly-2944368a":    "",
		"":                    "",
		"report-123456789012": "report",
	} {
		assert.Equal(t, want, cronJobOf(job), job)
	}
}
