package correlate

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Semantic-convention resource attribute keys for pod identity.
const (
	AttrPodUID          = "k8s.pod.uid"
	AttrPodName         = "k8s.pod.name"
	AttrNamespaceName   = "k8s.namespace.name"
	AttrContainerName   = "k8s.container.name"
	AttrNodeName        = "k8s.node.name"
	AttrDeploymentName  = "k8s.deployment.name"
	AttrStatefulSetName = "k8s.statefulset.name"
	AttrDaemonSetName   = "k8s.daemonset.name"
	AttrJobName         = "k8s.job.name"
	AttrCronJobName     = "k8s.cronjob.name"
	AttrReplicaSetName  = "k8s.replicaset.name"
	AttrClusterName     = "k8s.cluster.name"
	AttrServiceName     = "service.name"
	AttrServiceNS       = "service.namespace"
	AttrServiceVersion  = "service.version"
	// AttrLogFilePath is set by the file log receiver (include_file_path).
	AttrLogFilePath = "log.file.path"
)

// Pod is what Braid knows about a Kubernetes pod. Empty fields are unknown.
type Pod struct {
	UID           string `mapstructure:"uid"`
	Name          string `mapstructure:"name"`
	Namespace     string `mapstructure:"namespace"`
	NodeName      string `mapstructure:"node_name"`
	ContainerName string `mapstructure:"container_name"`
	// IP is the pod IP, used to recognise the sender of telemetry.
	IP string `mapstructure:"ip"`
	// Workload names: set those that apply.
	DeploymentName  string `mapstructure:"deployment_name"`
	StatefulSetName string `mapstructure:"statefulset_name"`
	DaemonSetName   string `mapstructure:"daemonset_name"`
	JobName         string `mapstructure:"job_name"`
	CronJobName     string `mapstructure:"cronjob_name"`
	ReplicaSetName  string `mapstructure:"replicaset_name"`
	ClusterName     string `mapstructure:"cluster_name"`
	// ServiceName and ServiceVersion fill service.name and service.version
	// when a signal lacks them.
	ServiceName    string            `mapstructure:"service_name"`
	ServiceVersion string            `mapstructure:"service_version"`
	Labels         map[string]string `mapstructure:"labels"`
}

// Known reports whether the pod can be told apart from others: it has a UID,
// or a namespace and a name.
func (p Pod) Known() bool { return p.UID != "" || (p.Namespace != "" && p.Name != "") }

// Key is the pod's key in the trace index: its UID, or namespace/name when
// the UID is unknown.
func (p Pod) Key() string {
	if p.UID != "" {
		return p.UID
	}
	if p.Namespace != "" && p.Name != "" {
		return p.Namespace + "/" + p.Name
	}
	return ""
}

// Workload returns the kind and name of the pod's owning workload, the
// most specific known: Deployment, StatefulSet, DaemonSet, CronJob, Job,
// then ReplicaSet. Both are empty when none is known.
func (p Pod) Workload() (kind, name string) {
	switch {
	case p.DeploymentName != "":
		return "Deployment", p.DeploymentName
	case p.StatefulSetName != "":
		return "StatefulSet", p.StatefulSetName
	case p.DaemonSetName != "":
		return "DaemonSet", p.DaemonSetName
	case p.CronJobName != "":
		return "CronJob", p.CronJobName
	case p.JobName != "":
		return "Job", p.JobName
	case p.ReplicaSetName != "":
		return "ReplicaSet", p.ReplicaSetName
	}
	return "", ""
}

// Merge fills p's empty fields from o.
func (p Pod) Merge(o Pod) Pod {
	for _, a := range podAttributes {
		if f := a.field(&p); *f == "" {
			*f = *a.field(&o)
		}
	}
	if p.IP == "" {
		p.IP = o.IP
	}
	if p.Labels == nil {
		p.Labels = o.Labels
	}
	return p
}

// podAttributes pairs every Pod field that has a semantic-convention
// resource attribute with its key. PodFromAttributes holds the same pairs as
// a switch, the fastest read; TestPodAttributesAgreeWithPodFromAttributes
// keeps the two the same.
var podAttributes = [...]struct {
	key   string
	field func(*Pod) *string
}{
	{AttrPodUID, func(p *Pod) *string { return &p.UID }},
	{AttrPodName, func(p *Pod) *string { return &p.Name }},
	{AttrNamespaceName, func(p *Pod) *string { return &p.Namespace }},
	{AttrNodeName, func(p *Pod) *string { return &p.NodeName }},
	{AttrContainerName, func(p *Pod) *string { return &p.ContainerName }},
	{AttrDeploymentName, func(p *Pod) *string { return &p.DeploymentName }},
	{AttrStatefulSetName, func(p *Pod) *string { return &p.StatefulSetName }},
	{AttrDaemonSetName, func(p *Pod) *string { return &p.DaemonSetName }},
	{AttrJobName, func(p *Pod) *string { return &p.JobName }},
	{AttrCronJobName, func(p *Pod) *string { return &p.CronJobName }},
	{AttrReplicaSetName, func(p *Pod) *string { return &p.ReplicaSetName }},
	{AttrClusterName, func(p *Pod) *string { return &p.ClusterName }},
	{AttrServiceName, func(p *Pod) *string { return &p.ServiceName }},
	{AttrServiceVersion, func(p *Pod) *string { return &p.ServiceVersion }},
}

// PodResolver looks pods up. Implementations are safe for concurrent use.
// Braid's Kubernetes pod cache implements it; [StaticPodResolver] is a fixed
// list for tests and sidecars.
type PodResolver interface {
	ByUID(uid string) (Pod, bool)
	ByIP(ip string) (Pod, bool)
	ByName(namespace, name string) (Pod, bool)
}

// StaticPodResolver resolves from a fixed list of pods. Its zero value
// resolves nothing; it is read-only after [NewStaticPodResolver] and so safe
// for concurrent use.
type StaticPodResolver struct {
	byUID  map[string]Pod
	byIP   map[string]Pod
	byName map[string]Pod
}

var _ PodResolver = (*StaticPodResolver)(nil)

// NewStaticPodResolver indexes pods by UID, IP and namespace/name. Later
// entries win over earlier ones with the same key.
func NewStaticPodResolver(pods []Pod) *StaticPodResolver {
	r := &StaticPodResolver{
		byUID:  make(map[string]Pod, len(pods)),
		byIP:   make(map[string]Pod, len(pods)),
		byName: make(map[string]Pod, len(pods)),
	}
	for _, p := range pods {
		if p.UID != "" {
			r.byUID[p.UID] = p
		}
		if p.IP != "" {
			r.byIP[p.IP] = p
		}
		if p.Namespace != "" && p.Name != "" {
			r.byName[p.Namespace+"/"+p.Name] = p
		}
	}
	return r
}

// ByUID implements [PodResolver].
func (r *StaticPodResolver) ByUID(uid string) (Pod, bool) {
	p, ok := r.byUID[uid]
	return p, ok
}

// ByIP implements [PodResolver].
func (r *StaticPodResolver) ByIP(ip string) (Pod, bool) {
	p, ok := r.byIP[ip]
	return p, ok
}

// ByName implements [PodResolver].
func (r *StaticPodResolver) ByName(namespace, name string) (Pod, bool) {
	p, ok := r.byName[namespace+"/"+name]
	return p, ok
}

// PodFromAttributes reads pod identity from semantic-convention attributes.
func PodFromAttributes(attrs pcommon.Map) Pod {
	// One pass over the attributes: a resource carries a dozen or so, and
	// a Get for each field would walk them fourteen times.
	var p Pod
	for k, v := range attrs.All() {
		var f *string
		switch k {
		case AttrPodUID:
			f = &p.UID
		case AttrPodName:
			f = &p.Name
		case AttrNamespaceName:
			f = &p.Namespace
		case AttrNodeName:
			f = &p.NodeName
		case AttrContainerName:
			f = &p.ContainerName
		case AttrDeploymentName:
			f = &p.DeploymentName
		case AttrStatefulSetName:
			f = &p.StatefulSetName
		case AttrDaemonSetName:
			f = &p.DaemonSetName
		case AttrJobName:
			f = &p.JobName
		case AttrCronJobName:
			f = &p.CronJobName
		case AttrReplicaSetName:
			f = &p.ReplicaSetName
		case AttrClusterName:
			f = &p.ClusterName
		case AttrServiceName:
			f = &p.ServiceName
		case AttrServiceVersion:
			f = &p.ServiceVersion
		default:
			continue
		}
		// The first value of a key counts, as with Get; a value that is
		// not a string counts as none.
		if *f == "" && v.Type() == pcommon.ValueTypeStr {
			*f = v.Str()
		}
	}
	return p
}

// ApplyPod writes p into attrs as semantic-convention attributes, without
// overwriting any that are already set. It reports whether anything was
// added.
func ApplyPod(attrs pcommon.Map, p Pod) bool {
	added := false
	for _, a := range podAttributes {
		v := *a.field(&p)
		if v == "" {
			continue
		}
		if _, ok := attrs.Get(a.key); ok {
			continue
		}
		attrs.PutStr(a.key, v)
		added = true
	}
	return added
}

// PodFromLogPath reads pod identity from a container log file path as the
// kubelet lays it out:
//
//	/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log
//	/var/log/containers/<pod>_<namespace>_<container>-<container id>.log
//
// Any directory may precede "pods" or "containers" (a host mount, say).
func PodFromLogPath(path string) (Pod, bool) {
	// Walk the last segments from the end without splitting the whole path.
	file, rest := lastSegment(path)
	if file == "" {
		return Pod{}, false
	}
	dir, rest := lastSegment(rest)
	if dir == "containers" {
		return podFromContainersLink(file)
	}
	podDir, rest := lastSegment(rest)
	pods, _ := lastSegment(rest)
	if pods != "pods" || dir == "" || !strings.Contains(file, ".log") {
		return Pod{}, false
	}
	ns, tail, ok := strings.Cut(podDir, "_")
	if !ok {
		return Pod{}, false
	}
	name, uid, ok := strings.Cut(tail, "_")
	if !ok || ns == "" || name == "" || uid == "" || strings.Contains(uid, "_") {
		return Pod{}, false
	}
	return Pod{UID: uid, Name: name, Namespace: ns, ContainerName: dir}, true
}

func podFromContainersLink(file string) (Pod, bool) {
	base, ok := strings.CutSuffix(file, ".log")
	if !ok {
		return Pod{}, false
	}
	parts := strings.Split(base, "_")
	if len(parts) != 3 {
		return Pod{}, false
	}
	dash := strings.LastIndexByte(parts[2], '-')
	if dash <= 0 || len(parts[2])-dash-1 != 64 {
		return Pod{}, false
	}
	if parts[0] == "" || parts[1] == "" {
		return Pod{}, false
	}
	return Pod{Name: parts[0], Namespace: parts[1], ContainerName: parts[2][:dash]}, true
}

func lastSegment(p string) (seg, rest string) {
	p = strings.TrimRight(p, "/")
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return p, ""
	}
	return p[i+1:], p[:i]
}
