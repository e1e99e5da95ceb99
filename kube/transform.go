package kube

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// stripPod is the pod informer's transform: it keeps only what the resolver
// reads, so the informer's cache holds a fraction of each pod.
func stripPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		// A tombstone, or something unexpected: leave it to the handler.
		return obj, nil
	}
	out := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            p.Name,
			Namespace:       p.Namespace,
			UID:             p.UID,
			ResourceVersion: p.ResourceVersion,
			Labels:          p.Labels,
			OwnerReferences: stripOwners(p.OwnerReferences),
		},
		Spec: corev1.PodSpec{
			NodeName:    p.Spec.NodeName,
			HostNetwork: p.Spec.HostNetwork,
		},
		Status: corev1.PodStatus{
			Phase:  p.Status.Phase,
			PodIP:  p.Status.PodIP,
			PodIPs: p.Status.PodIPs,
			HostIP: p.Status.HostIP,
		},
	}
	if len(p.Spec.Containers) > 0 {
		out.Spec.Containers = make([]corev1.Container, len(p.Spec.Containers))
		for i := range p.Spec.Containers {
			out.Spec.Containers[i].Name = p.Spec.Containers[i].Name
		}
	}
	return out, nil
}

// stripReplicaSet is the ReplicaSet informer's transform: name, namespace
// and owners are all the resolver reads.
func stripReplicaSet(obj any) (any, error) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return obj, nil
	}
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
		Name:            rs.Name,
		Namespace:       rs.Namespace,
		UID:             rs.UID,
		ResourceVersion: rs.ResourceVersion,
		OwnerReferences: stripOwners(rs.OwnerReferences),
	}}, nil
}

// stripOwners keeps the controller reference only: it alone names the
// workload.
func stripOwners(refs []metav1.OwnerReference) []metav1.OwnerReference {
	if ref := controllerOf(refs); ref != nil {
		return []metav1.OwnerReference{{Kind: ref.Kind, Name: ref.Name, Controller: ref.Controller}}
	}
	return nil
}

// controllerOf returns the controller owner reference, or the only owner
// when none is marked as controller.
func controllerOf(refs []metav1.OwnerReference) *metav1.OwnerReference {
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			return &refs[i]
		}
	}
	if len(refs) == 1 {
		return &refs[0]
	}
	return nil
}
