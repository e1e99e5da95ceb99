package main

import (
	"os"
	"strings"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/confmap"
)

// pinnedInstanceID is the service.instance.id of this process: the pod's UID
// when the Kubernetes manifests pass it (so that it survives a restart of the
// container), else a UUID drawn once. otelcol would draw a new one each time
// a reload rebuilds the service.
func pinnedInstanceID() string {
	for _, env := range []string{"BRAID_POD_UID", "POD_UID"} {
		if v := os.Getenv(env); v != "" {
			return v
		}
	}
	return uuid.NewString()
}

const (
	telemetryResourceKey = "service::telemetry::resource"
	instanceIDAttribute  = "service.instance.id"
)

// pinInstanceID sets service.instance.id in the telemetry resource of conf
// unless the user set it. otelcol reads resource attributes in two forms that
// cannot be mixed: entries of resource::attributes, and the older keys of
// resource itself; the id joins the form in use, the list by default.
func pinInstanceID(conf *confmap.Conf, id string) error {
	if conf.IsSet(telemetryResourceKey + "::" + instanceIDAttribute) {
		return nil
	}
	resource, _ := conf.Get(telemetryResourceKey).(map[string]any)
	for key := range resource {
		if !resourceSettings[key] {
			return conf.Merge(confmap.NewFromStringMap(nested(telemetryResourceKey+"::"+instanceIDAttribute, id)))
		}
	}
	attrs, _ := resource["attributes"].([]any)
	for _, a := range attrs {
		if m, ok := a.(map[string]any); ok && m["name"] == instanceIDAttribute {
			return nil
		}
	}
	attrs = append(attrs[:len(attrs):len(attrs)], map[string]any{"name": instanceIDAttribute, "value": id})
	return conf.Merge(confmap.NewFromStringMap(nested(telemetryResourceKey+"::attributes", attrs)))
}

// resourceSettings are the keys of service::telemetry::resource that are not
// attributes in the older form.
var resourceSettings = map[string]bool{
	"attributes": true, "attributes_list": true, "detectors": true, "schema_url": true, "detection/development": true,
}

// nested turns a "::"-separated key and its value into nested maps.
func nested(key string, v any) map[string]any {
	parts := strings.Split(key, confmap.KeyDelimiter)
	for i := len(parts) - 1; i > 0; i-- {
		v = map[string]any{parts[i]: v}
	}
	return map[string]any{parts[0]: v}
}
