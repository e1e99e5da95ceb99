package kube

import (
	"github.com/braidobs/braid/correlate"
)

// Well-known labels read for service.name and service.version, in order.
var (
	serviceNameLabels    = []string{"app.kubernetes.io/name", "app", "k8s-app"}
	serviceVersionLabels = []string{"app.kubernetes.io/version", "version"}
)

// minCronJobSuffix is the shortest digit suffix taken as a CronJob's
// scheduled minute: minutes since 1970 have had eight digits since 1989.
const minCronJobSuffix = 8

// setOwner fills the workload fields of p from its controller's kind and
// name. deploymentOf names the Deployment owning a ReplicaSet, if known.
func setOwner(p *correlate.Pod, kind, name string, deploymentOf func(namespace, name string) string) {
	switch kind {
	case "ReplicaSet":
		p.ReplicaSetName = name
		p.DeploymentName = deploymentOf(p.Namespace, name)
	case "StatefulSet":
		p.StatefulSetName = name
	case "DaemonSet":
		p.DaemonSetName = name
	case "Job":
		p.JobName = name
		p.CronJobName = cronJobOf(name)
	}
}

// cronJobOf infers the CronJob that created a Job from the Job's name.
func cronJobOf(job string) string {
	i := len(job)
	for i > 0 && job[i-1] >= '0' && job[i-1] <= '9' {
		i--
	}
	if len(job)-i < minCronJobSuffix || i < 2 || job[i-1] != '-' {
		return ""
	}
	return job[:i-1]
}

// setService fills service.name and service.version from the well-known
// labels, then the workload name.
func setService(p *correlate.Pod) {
	p.ServiceName = firstLabel(p.Labels, serviceNameLabels)
	if p.ServiceName == "" {
		for _, w := range []string{p.DeploymentName, p.StatefulSetName, p.DaemonSetName, p.CronJobName, p.JobName, p.ReplicaSetName} {
			if w != "" {
				p.ServiceName = w
				break
			}
		}
	}
	p.ServiceVersion = firstLabel(p.Labels, serviceVersionLabels)
}

func firstLabel(labels map[string]string, keys []string) string {
	for _, k := range keys {
		if v := labels[k]; v != "" {
			return v
		}
	}
	return ""
}
