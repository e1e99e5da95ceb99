// Package k8spodsextension is the k8s_pods extension: Braid's Kubernetes pod
// cache (package github.com/braidobs/braid/kube) as a collector extension,
// shared by every pipeline of a collector. The extension value implements
// [correlate.PodResolver]: a component that names the extension finds it in
// host.GetExtensions() and type-asserts it.
//
//	extensions:
//	  k8s_pods:
//	    mode: agent
//	    node_name: ${env:K8S_NODE_NAME}
//	processors:
//	  correlation:
//	    pod_resolver: k8s_pods
//
// Until the extension has started (its cache synced), and after it has shut
// down, every look-up misses.
package k8spodsextension
