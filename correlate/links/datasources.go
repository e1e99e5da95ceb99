package links

import (
	"errors"
	"fmt"
	"net/url"
)

// Datasource is one Grafana datasource as Braid provisions it.
type Datasource struct {
	UID  string // stable UID that dashboards and links refer to
	Name string // display name in Grafana
	Type string // plugin type: prometheus, loki or jaeger
	URL  string // backend URL Grafana's proxy talks to
}

// Datasources are the three datasources Braid wires together.
type Datasources struct {
	Prometheus Datasource
	Loki       Datasource
	Jaeger     Datasource
}

// DefaultDatasources returns the datasources of the local stack.
func DefaultDatasources() Datasources {
	return Datasources{
		Prometheus: Datasource{UID: DefaultPrometheusUID, Name: "Braid Prometheus", Type: TypePrometheus, URL: DefaultPrometheusURL},
		Loki:       Datasource{UID: DefaultLokiUID, Name: "Braid Loki", Type: TypeLoki, URL: DefaultLokiURL},
		Jaeger:     Datasource{UID: DefaultJaegerUID, Name: "Braid Jaeger", Type: TypeJaeger, URL: DefaultJaegerURL},
	}
}

// All returns the datasources in a fixed order: Prometheus, Loki, Jaeger.
func (d Datasources) All() []Datasource {
	return []Datasource{d.Prometheus, d.Loki, d.Jaeger}
}

// Validate reports the first datasource with a missing or malformed field.
// UIDs must be unique, at most 40 characters (Grafana's limit) and made of
// letters, digits, '-' and '_'; URLs must be absolute http(s) URLs.
func (d Datasources) Validate() error {
	seen := map[string]string{}
	for _, ds := range d.All() {
		if err := validUID(ds.UID); err != nil {
			return fmt.Errorf("%s datasource uid %q: %w", ds.Type, ds.UID, err)
		}
		if other, dup := seen[ds.UID]; dup {
			return fmt.Errorf("%s datasource uid %q is already used by the %s datasource", ds.Type, ds.UID, other)
		}
		seen[ds.UID] = ds.Type
		if ds.Name == "" {
			return fmt.Errorf("%s datasource name is empty", ds.Type)
		}
		u, err := url.Parse(ds.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s datasource url %q is not an absolute http(s) URL", ds.Type, ds.URL)
		}
	}
	return nil
}

func validUID(uid string) error {
	if uid == "" {
		return errors.New("is empty")
	}
	if len(uid) > 40 {
		return fmt.Errorf("is %d characters long, Grafana allows 40", len(uid))
	}
	for _, r := range uid {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("contains %q; use letters, digits, '-' and '_'", r)
		}
	}
	return nil
}
