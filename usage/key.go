package usage

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/correlate"
)

// KeyOf returns the key of a resource from the pod identity Braid attaches
// (processors/correlationprocessor): k8s.namespace.name, the most specific
// workload name (Deployment, StatefulSet, DaemonSet, CronJob, Job, then
// ReplicaSet), and service.name. A part the resource lacks is [Unknown].
func KeyOf(resource pcommon.Map) Key {
	var ns, svc string
	var workload [6]string // by precedence: the order of correlate.Pod.Workload
	resource.Range(func(k string, v pcommon.Value) bool {
		if v.Type() != pcommon.ValueTypeStr {
			return true
		}
		switch k {
		case correlate.AttrNamespaceName:
			ns = v.Str()
		case correlate.AttrServiceName:
			svc = v.Str()
		case correlate.AttrDeploymentName:
			workload[0] = v.Str()
		case correlate.AttrStatefulSetName:
			workload[1] = v.Str()
		case correlate.AttrDaemonSetName:
			workload[2] = v.Str()
		case correlate.AttrCronJobName:
			workload[3] = v.Str()
		case correlate.AttrJobName:
			workload[4] = v.Str()
		case correlate.AttrReplicaSetName:
			workload[5] = v.Str()
		}
		return true
	})
	k := Key{Namespace: ns, Service: svc}
	for _, w := range workload {
		if w != "" {
			k.Workload = w
			break
		}
	}
	if k.Namespace == "" {
		k.Namespace = Unknown
	}
	if k.Workload == "" {
		k.Workload = Unknown
	}
	if k.Service == "" {
		k.Service = Unknown
	}
	return k
}
