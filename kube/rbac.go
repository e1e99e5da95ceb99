package kube

import "github.com/braidobs/braid/correlate"

// APIResource is a resource the resolver reads and the verbs it uses on it.
type APIResource struct {
	// Group is the API group: "" for the core group.
	Group string
	// Resource is the plural resource name.
	Resource string
	// Verbs are the request verbs the resolver sends.
	Verbs []string
}

// WatchedResources returns every resource the resolver reads, with the verbs
// its informers send (a full list, then a watch). RBAC granting exactly
// these is enough for a resolver in either mode; the repository's tests hold
// Braid's ClusterRole and the informers' real requests to this list.
func WatchedResources() []APIResource {
	return []APIResource{
		{Group: "", Resource: "pods", Verbs: []string{"list", "watch"}},
		{Group: "apps", Resource: "replicasets", Verbs: []string{"list", "watch"}},
	}
}

// LogPathResolver is implemented by resolvers that resolve a kubelet
// container log path in one step ([Resolver], and Braid's k8s_pods
// extension). Components holding a [correlate.PodResolver] may type-assert
// it.
type LogPathResolver interface {
	ByLogPath(path string) (correlate.Pod, bool)
}
