package correlate

import "go.opentelemetry.io/collector/pdata/pcommon"

// PodIdentity is a resource's pod as the trace index keys it.
type PodIdentity struct {
	Pod Pod
	// Key is the pod's UID, or namespace/name; AltKey is namespace/name
	// when Key is the UID, so that either finds the pod's history.
	Key, AltKey string
	// Service is the pod's service name, for service histories.
	Service string
}

// Known reports whether the identity names a pod.
func (p *PodIdentity) Known() bool { return p.Key != "" }

// IdentityOf is pod's identity.
func IdentityOf(pod Pod) PodIdentity {
	id := PodIdentity{Pod: pod, Key: pod.Key(), Service: pod.ServiceName}
	if pod.UID != "" && pod.Namespace != "" && pod.Name != "" {
		id.AltKey = pod.Namespace + "/" + pod.Name
	}
	return id
}

// PodSource is where a pod lookup looked.
type PodSource int

// The pod sources, in the order PodIdentifier tries them; Kubernetes is the
// resolver's enrichment of a pod already found.
const (
	PodSourceAttributes PodSource = iota
	PodSourceLogPath
	PodSourceSenderAddress
	PodSourceKubernetes
	NumPodSources
)

var podSourceNames = [NumPodSources]string{"attributes", "log_path", "sender_address", "kubernetes"}

// String is the source's name in configuration and self-metrics.
func (s PodSource) String() string {
	if s < 0 || s >= NumPodSources {
		return "unknown"
	}
	return podSourceNames[s]
}

// PodLookups counts pod lookups by source: [source][0] found, [source][1]
// not, so a batch's lookups reach a meter in a few calls.
type PodLookups [NumPodSources][2]int64

func (lc *PodLookups) add(src PodSource, hit bool) {
	if lc == nil {
		return
	}
	if hit {
		lc[src][0]++
	} else {
		lc[src][1]++
	}
}

// PodIdentifier gives a resource its pod identity from the sources that are
// on, tried in a fixed order: the resource's attributes (what the SDK or an
// earlier Braid set), the container log path of its records, the address of
// its sender. The first that names a pod wins; the resolver then fills in
// what it knows of that pod (node, workload, service), and attributes
// already present are never overwritten.
type PodIdentifier struct {
	Attributes, LogPath, SenderAddress bool
}

// Identify finds the pod of the resource whose attributes are attrs, writes
// what it learnt into attrs (ApplyPod) and returns its identity. logPath is
// its log records' file path (empty for other signals; a log.file.path
// resource attribute is used before it); senderIP is asked, only when that
// source is on and needed, for the sender's address. r may be nil; lc, when
// not nil, counts each lookup.
func (pi PodIdentifier) Identify(attrs pcommon.Map, logPath string, senderIP func() string, r PodResolver, lc *PodLookups) PodIdentity {
	var pod, attrPod Pod // attrPod: what attrs say, when read
	found := false
	merged := false // whether pod holds more than attrPod
	if pi.Attributes {
		attrPod = PodFromAttributes(attrs)
		pod, found = attrPod, attrPod.Known()
		lc.add(PodSourceAttributes, found)
	}
	if !found && pi.LogPath {
		path := logPath
		if v, ok := attrs.Get(AttrLogFilePath); ok && v.Type() == pcommon.ValueTypeStr {
			path = v.Str()
		}
		if path != "" {
			p, ok := PodFromLogPath(path)
			lc.add(PodSourceLogPath, ok)
			if ok {
				pod, found, merged = pod.Merge(p), true, true
			}
		}
	}
	if !found && pi.SenderAddress && r != nil && senderIP != nil {
		if ip := senderIP(); ip != "" {
			p, ok := r.ByIP(ip)
			lc.add(PodSourceSenderAddress, ok)
			if ok {
				pod, found, merged = pod.Merge(p), true, true
			}
		}
	}
	if found && r != nil {
		var p Pod
		var ok bool
		if pod.UID != "" {
			p, ok = r.ByUID(pod.UID)
		}
		if !ok && pod.Namespace != "" && pod.Name != "" {
			p, ok = r.ByName(pod.Namespace, pod.Name)
		}
		lc.add(PodSourceKubernetes, ok)
		if ok {
			pod, merged = pod.Merge(p), true
		}
	}
	if found && merged && ApplyPod(attrs, pod) {
		return IdentityOf(PodFromAttributes(attrs))
	}
	if pi.Attributes {
		return IdentityOf(attrPod) // attrs are as they were read
	}
	return IdentityOf(PodFromAttributes(attrs))
}
