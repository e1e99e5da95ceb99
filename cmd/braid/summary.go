package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/collector/confmap"
)

// A summary is the short human account Braid prints once it first runs:
// where to send data, where to look, and whether the backends answer.
type summary struct {
	listeners []listener
	exporters []exporterLine
	firstSpan bool // the embedded default: show the first-span command
}

type listener struct{ what, where, takes string }

type exporterLine struct{ id, endpoint string }

// componentType is the type part of a component ID ("otlp_grpc/jaeger").
func componentType(id string) string {
	t, _, _ := strings.Cut(id, "/")
	return t
}

func str(conf *confmap.Conf, key string) string {
	v := conf.Get(key)
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// describe reads what a resolved configuration runs.
func describe(conf *confmap.Conf, embedded bool) summary {
	s := summary{firstSpan: embedded}
	used := map[string]bool{}
	pipelines, _ := conf.Get("service::pipelines").(map[string]any)
	for _, p := range pipelines {
		m, _ := p.(map[string]any)
		for _, kind := range []string{"receivers", "exporters"} {
			list, _ := m[kind].([]any)
			for _, id := range list {
				used[kind+"::"+fmt.Sprint(id)] = true
			}
		}
	}
	for _, id := range sortedKeys(conf, "receivers") {
		if !used["receivers::"+id] {
			continue
		}
		base := "receivers::" + id
		switch componentType(id) {
		case "otlp":
			if e := str(conf, base+"::protocols::grpc::endpoint"); e != "" {
				s.listeners = append(s.listeners, listener{"OTLP gRPC (" + id + ")", e, "traces, metrics, logs"})
			}
			if conf.IsSet(base + "::protocols::http") {
				e := str(conf, base+"::protocols::http::endpoint")
				if e == "" {
					e = "localhost:4318"
				}
				s.listeners = append(s.listeners, listener{"OTLP HTTP (" + id + ")", "http://" + e, "/v1/traces, /v1/metrics, /v1/logs"})
			}
		case "loki":
			s.listeners = append(s.listeners, listener{"Loki push (" + id + ")", "http://" + str(conf, base+"::endpoint"), "/loki/api/v1/push"})
		case "file_log":
			s.listeners = append(s.listeners, listener{"log files (" + id + ")", str(conf, base+"::include"), "container log lines"})
		default:
			if e := str(conf, base+"::endpoint"); e != "" {
				s.listeners = append(s.listeners, listener{id, e, ""})
			}
		}
	}
	for _, id := range sortedKeys(conf, "exporters") {
		if !used["exporters::"+id] {
			continue
		}
		base := "exporters::" + id
		if componentType(id) == "prometheus" {
			s.listeners = append(s.listeners, listener{"span metrics (" + id + ")", "http://" + str(conf, base+"::endpoint") + "/metrics", "scrape; exemplars with Accept: application/openmetrics-text"})
			continue
		}
		s.exporters = append(s.exporters, exporterLine{id, exporterEndpoint(conf, base)})
	}
	for _, id := range sortedKeys(conf, "extensions") {
		base := "extensions::" + id
		switch componentType(id) {
		case "health_check":
			s.listeners = append(s.listeners, listener{"health", "http://" + str(conf, base+"::endpoint") + "/", ""})
		case "drill":
			s.listeners = append(s.listeners, listener{"drill-down API", "http://" + str(conf, base+"::endpoint"), "braid drill"})
		}
	}
	readers, _ := conf.Get("service::telemetry::metrics::readers").([]any)
	for _, r := range readers {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		c := confmap.NewFromStringMap(m)
		if host := str(c, "pull::exporter::prometheus::host"); host != "" {
			s.listeners = append(s.listeners, listener{"self-metrics", "http://" + net.JoinHostPort(host, str(c, "pull::exporter::prometheus::port")) + "/metrics", ""})
		}
	}
	return s
}

func sortedKeys(conf *confmap.Conf, key string) []string {
	m, _ := conf.Get(key).(map[string]any)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// exporterEndpoint is the address an exporter sends to, if it has one.
func exporterEndpoint(conf *confmap.Conf, base string) string {
	if e := str(conf, base+"::endpoint"); e != "" {
		return e
	}
	if h := conf.Get(base + "::resolver::static::hostnames"); h != nil {
		return fmt.Sprint(h)
	}
	if h := str(conf, base+"::resolver::dns::hostname"); h != "" {
		return h + ":" + str(conf, base+"::resolver::dns::port")
	}
	return ""
}

// dialable turns an endpoint (host:port or a URL) into host:port.
func dialable(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		if u.Port() != "" {
			return u.Host
		}
		if u.Scheme == "https" {
			return net.JoinHostPort(u.Hostname(), "443")
		}
		return net.JoinHostPort(u.Hostname(), "80")
	}
	if _, _, err := net.SplitHostPort(endpoint); err == nil {
		return endpoint
	}
	return ""
}

// answers says whether something accepts TCP connections at endpoint.
func answers(endpoint string, timeout time.Duration) string {
	addr := dialable(endpoint)
	if addr == "" {
		return ""
	}
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "not answering (" + err.Error() + ")"
	}
	c.Close()
	return "answers"
}

// otlpHTTP is the first OTLP HTTP listener's URL.
func (s summary) otlpHTTP() string {
	for _, l := range s.listeners {
		if strings.HasPrefix(l.what, "OTLP HTTP") {
			return l.where
		}
	}
	return ""
}

func (s summary) print(w io.Writer, version string) {
	fmt.Fprintf(w, "\nBraid %s is running.\n", version)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range s.listeners {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", l.what, l.where, l.takes)
	}
	tw.Flush()
	if len(s.exporters) > 0 {
		fmt.Fprintln(w, "  exporters:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, e := range s.exporters {
			state := ""
			if e.endpoint != "" {
				state = answers(e.endpoint, 500*time.Millisecond)
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\n", e.id, e.endpoint, state)
		}
		tw.Flush()
	}
	if s.firstSpan {
		if http := s.otlpHTTP(); http != "" {
			fmt.Fprintln(w, "  A first span (it shows up here, printed by the debug exporter, and as span metrics):")
			fmt.Fprintf(w, "    now=$(date +%%s%%N); curl -sS -X POST %s/v1/traces -H 'Content-Type: application/json' -d "+
				`'{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /cart","kind":2,"startTimeUnixNano":"'$((now-25000000))'","endTimeUnixNano":"'$now'"}]}]}]}'`+"\n", http)
		}
	}
	fmt.Fprintln(w)
}
