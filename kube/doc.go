// Package kube keeps a cache of Kubernetes pods, fed by client-go shared
// informers, and resolves telemetry senders to pod identity through it. Its
// [Resolver] implements [correlate.PodResolver].
//
// # What is watched
//
// Pods, and ReplicaSets to name a pod's Deployment; nothing else
// ([WatchedResources] lists them with the verbs used, and Braid's RBAC
// manifests grant exactly those). In [ModeAgent] the pod watch is scoped to
// one node with the field selector spec.nodeName=<node>; in [ModeGateway] it
// is cluster-wide. An informer transform strips every object to the fields
// the resolver reads (name, namespace, UID, labels, owner references, node,
// host network, container names, pod and host IPs, phase), so the cache
// stays small.
//
// # Look-ups
//
//   - By UID: a well-formed UID (8-4-4-4-12 hex digits) of a cached pod.
//   - By IP: the one running pod with that IP. Pods on the host network share
//     the node's IP and are never returned; an IP held by two running pods is
//     ambiguous and resolves to nothing. When no running pod holds the IP, a
//     deleted pod still in its grace period (or a completed one) does.
//   - By namespace and name: the newest pod of that name.
//   - By log path: [Resolver.ByLogPath] parses a kubelet container log path
//     with [correlate.PodFromLogPath], then resolves the pod it names and sets
//     the container from the path.
//
// A deleted pod keeps resolving, by every key, for the deleted-pod grace
// period, so telemetry that arrives late is still attributed. A pod that
// reuses the IP of a deleted one wins that IP at once.
//
// Malformed input (a UID that is not a UUID, an IP that does not parse, an
// empty namespace or name, a log path not laid out by the kubelet) is left
// alone: the look-up misses and braid_k8s_lookups_malformed counts it.
//
// # Workload and service
//
// The workload comes from the pod's controller owner reference:
// ReplicaSet (and its Deployment, from the cached ReplicaSet's owner),
// StatefulSet, DaemonSet, Job. A Job's CronJob is inferred from the Job's
// name, which the CronJob controller builds as <cronjob>-<scheduled minute>:
// a Job name ending in a dash and at least eight digits is taken to belong
// to the CronJob named by the rest.
//
// service.name, when the pod has none, is the first that is set of
//
//  1. label app.kubernetes.io/name
//  2. label app
//  3. label k8s-app
//  4. the workload name: Deployment, StatefulSet, DaemonSet, CronJob, Job,
//     then a ReplicaSet without a Deployment
//
// service.version is label app.kubernetes.io/version, then label version.
// The pod name is never used as a service name: it changes with every
// rollout.
//
// # Self-metrics
//
//   - braid_k8s_pods_cached (gauge): pods in the cache, deleted ones in their
//     grace period included.
//   - braid_k8s_lookups (counter): look-ups by kind (uid, ip, name) and
//     result (hit, miss).
//   - braid_k8s_lookups_malformed (counter): look-ups refused as malformed,
//     by kind (uid, ip, name, log_path).
//
// # Tests
//
// [NewResolver] takes any [kubernetes.Interface]; tests pass client-go's
// fake clientset (k8s.io/client-go/kubernetes/fake) holding the pods they
// need, start the resolver and look pods up.
package kube
