package kube

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/braidobs/braid/correlate"
)

// Resolver is an informer-backed pod cache. Create it with [NewResolver],
// call [Resolver.Start] once, then look pods up from any goroutine;
// [Resolver.Shutdown] stops the informers. Look-ups before Start, or after
// Shutdown, miss.
type Resolver struct {
	cfg     Config
	now     func() time.Time
	metrics *metrics

	pods        cache.SharedIndexInformer
	replicaSets cache.SharedIndexInformer

	// mu guards byUID, byIP and byName, and the entries they point to.
	mu     sync.RWMutex
	byUID  map[string]*entry
	byIP   map[netip.Addr][]*entry // every cached pod holding the IP
	byName map[podName]*entry      // the newest pod of each name

	// errMu guards lastErr.
	errMu   sync.Mutex
	lastErr error

	// lifeMu guards started and stop.
	lifeMu  sync.Mutex
	started bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

var (
	_ correlate.PodResolver = (*Resolver)(nil)
	_ LogPathResolver       = (*Resolver)(nil)
)

// entry is one cached pod. Entries are replaced, never changed in place,
// except for deletedAt, which is written under mu.
type entry struct {
	pod         correlate.Pod // identity; workload and service are filled at look-up
	ip          netip.Addr    // pod.IP parsed; invalid when the pod has none
	ownerKind   string
	ownerName   string
	hostNetwork bool
	terminal    bool      // Succeeded or Failed: its IP may be handed out again
	deletedAt   time.Time // zero while the pod exists
}

// Option configures a [Resolver].
type Option func(*Resolver)

// WithMeterProvider sets where self-metrics go. Default: nowhere.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(r *Resolver) { r.metrics = newMetrics(mp, r) }
}

// WithClock sets the clock that times deleted pods' grace period. Default
// time.Now.
func WithClock(now func() time.Time) Option {
	return func(r *Resolver) { r.now = now }
}

// NewResolver returns a resolver that watches through client. It does not
// contact the API server until [Resolver.Start].
func NewResolver(cfg Config, client kubernetes.Interface, opts ...Option) (*Resolver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		return nil, errors.New("kube: nil clientset")
	}
	r := &Resolver{
		cfg:    cfg,
		now:    time.Now,
		byUID:  make(map[string]*entry),
		byIP:   make(map[netip.Addr][]*entry),
		byName: make(map[podName]*entry),
	}
	for _, o := range opts {
		o(r)
	}
	if r.metrics == nil {
		r.metrics = newMetrics(noop.NewMeterProvider(), r)
	}
	var scope func(*metav1.ListOptions)
	if cfg.Mode == ModeAgent {
		node := cfg.NodeName
		scope = func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", node).String()
		}
	}
	r.pods = coreinformers.NewFilteredPodInformer(client, metav1.NamespaceAll, 0, cache.Indexers{}, scope)
	r.replicaSets = appsinformers.NewFilteredReplicaSetInformer(client, metav1.NamespaceAll, 0, cache.Indexers{}, nil)
	for _, inf := range []struct {
		informer  cache.SharedIndexInformer
		transform cache.TransformFunc
	}{{r.pods, stripPod}, {r.replicaSets, stripReplicaSet}} {
		if err := inf.informer.SetTransform(inf.transform); err != nil {
			return nil, fmt.Errorf("kube: informer transform: %w", err)
		}
		if err := inf.informer.SetWatchErrorHandler(r.watchError); err != nil {
			return nil, fmt.Errorf("kube: informer error handler: %w", err)
		}
	}
	return r, nil
}

// Start runs the informers and waits, at most the configured sync timeout
// or until ctx ends, for their first full list. On failure it stops
// everything it started and says which cache did not sync and why.
func (r *Resolver) Start(ctx context.Context) error {
	r.lifeMu.Lock()
	defer r.lifeMu.Unlock()
	if r.started {
		return errors.New("kube: resolver already started")
	}
	if r.cfg.Mode == ModeAgent && r.cfg.NodeName == "" {
		return errors.New("kube: node_name is empty in agent mode: set it from the downward API (spec.nodeName, e.g. K8S_NODE_NAME)")
	}
	reg, err := r.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    r.onPod,
		UpdateFunc: func(_, obj any) { r.onPod(obj) },
		DeleteFunc: r.onPodDelete,
	})
	if err != nil {
		return fmt.Errorf("kube: pod event handler: %w", err)
	}
	r.started = true
	stop := make(chan struct{})
	r.stop = stop
	for _, inf := range []cache.SharedIndexInformer{r.pods, r.replicaSets} {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			inf.Run(stop)
		}()
	}

	syncCtx, cancel := context.WithTimeout(ctx, r.cfg.SyncTimeout)
	defer cancel()
	var unsynced []string
	if !cache.WaitForCacheSync(syncCtx.Done(), reg.HasSynced, r.replicaSets.HasSynced) {
		if !reg.HasSynced() {
			unsynced = append(unsynced, "pods")
		}
		if !r.replicaSets.HasSynced() {
			unsynced = append(unsynced, "replicasets")
		}
	}
	if len(unsynced) > 0 {
		r.stopLocked()
		what := strings.Join(unsynced, " and ") + " cache"
		if len(unsynced) != 1 {
			what += "s"
		}
		msg := fmt.Sprintf("kube: %s did not sync within %s (sync_timeout): check that the API server is reachable and that Braid's service account may list and watch pods and replicasets", what, r.cfg.SyncTimeout)
		if last := r.lastWatchError(); last != nil {
			return fmt.Errorf("%s; last error: %w", msg, last)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", msg, ctx.Err())
		}
		return errors.New(msg)
	}

	if r.cfg.DeletedPodGracePeriod > 0 {
		r.wg.Add(1)
		go r.sweepLoop(stop)
	}
	return nil
}

// Shutdown stops the informers and waits for them. It is safe to call more
// than once, and without Start.
func (r *Resolver) Shutdown() {
	r.lifeMu.Lock()
	defer r.lifeMu.Unlock()
	r.stopLocked()
	r.metrics.unregister()
}

func (r *Resolver) stopLocked() {
	if r.stop != nil {
		close(r.stop)
		r.stop = nil
		r.wg.Wait()
	}
}

func (r *Resolver) sweepLoop(stop <-chan struct{}) {
	defer r.wg.Done()
	interval := r.cfg.DeletedPodGracePeriod / 2
	if interval < time.Second {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.Sweep()
		}
	}
}

func (r *Resolver) watchError(_ *cache.Reflector, err error) {
	r.errMu.Lock()
	r.lastErr = err
	r.errMu.Unlock()
}

func (r *Resolver) lastWatchError() error {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.lastErr
}

// onPod adds or replaces a pod in the index.
func (r *Resolver) onPod(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok || p.UID == "" {
		return
	}
	if r.cfg.Mode == ModeAgent && p.Spec.NodeName != r.cfg.NodeName {
		return
	}
	e := &entry{
		pod: correlate.Pod{
			UID:         string(p.UID),
			Name:        p.Name,
			Namespace:   p.Namespace,
			NodeName:    p.Spec.NodeName,
			ClusterName: r.cfg.ClusterName,
			Labels:      p.Labels,
		},
		hostNetwork: p.Spec.HostNetwork,
		terminal:    p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed,
	}
	if ip, ok := parseIP(p.Status.PodIP); ok {
		e.ip = ip
		e.pod.IP = ip.String()
	}
	if len(p.Spec.Containers) == 1 {
		e.pod.ContainerName = p.Spec.Containers[0].Name
	}
	if ref := controllerOf(p.OwnerReferences); ref != nil {
		e.ownerKind, e.ownerName = ref.Kind, ref.Name
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.byUID[e.pod.UID]; old != nil {
		r.unindexLocked(old)
	}
	r.byUID[e.pod.UID] = e
	if e.ip.IsValid() {
		r.byIP[e.ip] = append(r.byIP[e.ip], e)
	}
	r.byName[podName{e.pod.Namespace, e.pod.Name}] = e
}

// onPodDelete starts a deleted pod's grace period.
func (r *Resolver) onPodDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.byUID[string(p.UID)]
	if e == nil {
		return
	}
	if r.cfg.DeletedPodGracePeriod <= 0 {
		r.unindexLocked(e)
		return
	}
	e.deletedAt = now
}

// unindexLocked removes e from every index. mu must be held for writing.
func (r *Resolver) unindexLocked(e *entry) {
	if r.byUID[e.pod.UID] == e {
		delete(r.byUID, e.pod.UID)
	}
	if e.ip.IsValid() {
		list := r.byIP[e.ip]
		for i, x := range list {
			if x == e {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(r.byIP, e.ip)
		} else {
			r.byIP[e.ip] = list
		}
	}
	key := podName{e.pod.Namespace, e.pod.Name}
	if r.byName[key] == e {
		delete(r.byName, key)
	}
}

// Sweep drops deleted pods whose grace period has ended and returns how
// many it dropped. The resolver calls it periodically; look-ups never return
// such pods even before they are swept.
func (r *Resolver) Sweep() int {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.byUID {
		if r.expiredLocked(e, now) {
			r.unindexLocked(e)
			n++
		}
	}
	return n
}

func (r *Resolver) expiredLocked(e *entry, now time.Time) bool {
	return !e.deletedAt.IsZero() && now.Sub(e.deletedAt) >= r.cfg.DeletedPodGracePeriod
}

// Len returns how many pods are cached, deleted ones in their grace period
// included.
func (r *Resolver) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.byUID)
}

// Deleting returns how many of the cached pods have been deleted and are in
// their grace period (or past it, not yet swept).
func (r *Resolver) Deleting() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := 0
	for _, e := range r.byUID {
		if !e.deletedAt.IsZero() {
			n++
		}
	}
	return n
}

// ByUID implements [correlate.PodResolver].
func (r *Resolver) ByUID(uid string) (correlate.Pod, bool) {
	if !validUID(uid) {
		r.metrics.malformed(kindUID)
		return correlate.Pod{}, false
	}
	now := r.now()
	r.mu.RLock()
	e := r.byUID[uid]
	if e != nil && r.expiredLocked(e, now) {
		e = nil
	}
	p, ok := r.podLocked(e)
	r.mu.RUnlock()
	return r.finish(kindUID, p, ok)
}

// ByIP implements [correlate.PodResolver]. ip may carry a port
// ("10.1.2.3:4317", "[fd00::1]:4317"); IPv4-mapped IPv6 addresses match
// their IPv4 form.
func (r *Resolver) ByIP(ip string) (correlate.Pod, bool) {
	key, ok := parseIP(ip)
	if !ok {
		r.metrics.malformed(kindIP)
		return correlate.Pod{}, false
	}
	now := r.now()
	r.mu.RLock()
	var running, gone *entry
	nRunning, nGone := 0, 0
	for _, e := range r.byIP[key] {
		switch {
		case r.expiredLocked(e, now):
		case !e.deletedAt.IsZero() || e.terminal:
			gone = e
			nGone++
		default:
			running = e
			nRunning++
		}
	}
	var pick *entry
	switch {
	case nRunning == 1:
		pick = running
	case nRunning == 0 && nGone == 1:
		pick = gone
	}
	if pick != nil && pick.hostNetwork {
		// The node's own IP: every host-network pod and the node itself
		// send from it.
		pick = nil
	}
	p, ok := r.podLocked(pick)
	r.mu.RUnlock()
	return r.finish(kindIP, p, ok)
}

// ByName implements [correlate.PodResolver].
func (r *Resolver) ByName(namespace, name string) (correlate.Pod, bool) {
	if namespace == "" || name == "" {
		r.metrics.malformed(kindName)
		return correlate.Pod{}, false
	}
	now := r.now()
	r.mu.RLock()
	e := r.byName[podName{namespace, name}]
	if e != nil && r.expiredLocked(e, now) {
		e = nil
	}
	p, ok := r.podLocked(e)
	r.mu.RUnlock()
	return r.finish(kindName, p, ok)
}

// ByLogPath resolves the pod named by a kubelet container log path
// (/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log, or the
// /var/log/containers/ link), and sets the container from the path. A path
// of another shape misses and is counted as malformed. When the path names
// a pod the cache does not hold, it returns what the path says, with false.
func (r *Resolver) ByLogPath(path string) (correlate.Pod, bool) {
	fromPath, ok := correlate.PodFromLogPath(path)
	if !ok {
		r.metrics.malformed(kindLogPath)
		return correlate.Pod{}, false
	}
	var p correlate.Pod
	if fromPath.UID != "" {
		p, ok = r.ByUID(fromPath.UID)
	} else {
		p, ok = r.ByName(fromPath.Namespace, fromPath.Name)
	}
	if !ok {
		return fromPath, false
	}
	p.ContainerName = fromPath.ContainerName
	return p, true
}

// podLocked copies e's pod out of the index. mu must be held.
func (r *Resolver) podLocked(e *entry) (correlate.Pod, bool) {
	if e == nil {
		return correlate.Pod{}, false
	}
	p := e.pod
	if e.ownerKind != "" {
		setOwner(&p, e.ownerKind, e.ownerName, r.deploymentOf)
	}
	return p, true
}

// finish completes a found pod's service fields and counts the look-up.
func (r *Resolver) finish(kind lookupKind, p correlate.Pod, ok bool) (correlate.Pod, bool) {
	r.metrics.lookup(kind, ok)
	if ok {
		setService(&p)
	}
	return p, ok
}

// deploymentOf names the Deployment that owns a cached ReplicaSet.
func (r *Resolver) deploymentOf(namespace, name string) string {
	obj, ok, err := r.replicaSets.GetIndexer().GetByKey(nameKey(namespace, name))
	if err != nil || !ok {
		return ""
	}
	meta, err := metaOf(obj)
	if err != nil {
		return ""
	}
	if ref := controllerOf(meta.GetOwnerReferences()); ref != nil && ref.Kind == "Deployment" {
		return ref.Name
	}
	return ""
}

func metaOf(obj any) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("kube: unexpected %T in cache", obj)
	}
	return m, nil
}

// podName is a pod's namespace and name.
type podName struct{ namespace, name string }

func nameKey(namespace, name string) string { return namespace + "/" + name }

// parseIP parses an address with or without a port, unmapping IPv4-mapped
// IPv6 addresses and dropping any zone.
func parseIP(ip string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		ap, err := netip.ParseAddrPort(ip)
		if err != nil {
			return netip.Addr{}, false
		}
		addr = ap.Addr()
	}
	return addr.Unmap().WithZone(""), true
}

// validUID reports whether uid has the form of a Kubernetes UID, an RFC 4122
// UUID: 8-4-4-4-12 hexadecimal digits.
func validUID(uid string) bool {
	if len(uid) != 36 {
		return false
	}
	for i := 0; i < len(uid); i++ {
		c := uid[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) {
				return false
			}
		}
	}
	return true
}
