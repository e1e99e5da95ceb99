package links_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/braidobs/braid/correlate/links"
)

func ExampleLinkBuilder_Trace() {
	b, err := links.NewLinkBuilder("http://127.0.0.1:3000", links.DefaultDatasources())
	if err != nil {
		panic(err)
	}
	id := pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	link := b.Trace(id, links.TimeRange{From: start, To: start.Add(2 * time.Second)})

	u, err := url.Parse(link)
	if err != nil {
		panic(err)
	}
	fmt.Println(u.Scheme + "://" + u.Host + u.Path)
	fmt.Println("panes:", u.Query().Get("panes"))
	// Output:
	// http://127.0.0.1:3000/explore
	// panes: {"braid":{"datasource":"braid-jaeger","queries":[{"datasource":{"type":"jaeger","uid":"braid-jaeger"},"query":"4bf92f3577b34da6a3ce929d0e0e4736","refId":"A"}],"range":{"from":"1795694400000","to":"1795694402000"}}}
}

func ExampleTraceLogsQuery() {
	id := pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	fmt.Println(links.TraceLogsQuery(id, links.Selector{Namespace: "shop", Service: "checkout"}))
	// Output:
	// {k8s_namespace_name="shop", service_name="checkout"} | trace_id="4bf92f3577b34da6a3ce929d0e0e4736"
}

func ExampleLinkBuilder_Dashboard() {
	b, err := links.NewLinkBuilder("https://grafana.example.com/", links.DefaultDatasources())
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Dashboard(links.DashboardServiceOverview, map[string]string{links.VarService: "checkout"}, links.TimeRange{}))
	// Output:
	// https://grafana.example.com/d/braid-service-overview?from=now-1h&orgId=1&to=now&var-service=checkout
}

func ExampleLinkBuilder_ServiceMetrics() {
	b, err := links.NewLinkBuilder(links.DefaultGrafanaURL, links.DefaultDatasources())
	if err != nil {
		panic(err)
	}
	link := b.ServiceMetrics(links.Selector{Namespace: "shop", Service: "checkout"}, links.TimeRange{})

	u, err := url.Parse(link)
	if err != nil {
		panic(err)
	}
	var panes map[string]struct {
		Queries []struct{ Expr string }
	}
	if err := json.Unmarshal([]byte(u.Query().Get("panes")), &panes); err != nil {
		panic(err)
	}
	for _, q := range panes["braid"].Queries {
		fmt.Println(q.Expr)
	}
	// Output:
	// sum by (span_name) (rate(traces_span_metrics_calls_total{k8s_namespace_name="shop", service_name="checkout"}[5m]))
	// sum by (span_name) (rate(traces_span_metrics_calls_total{k8s_namespace_name="shop", service_name="checkout", status_code="STATUS_CODE_ERROR"}[5m]))
	// histogram_quantile(0.99, sum by (span_name, le) (rate(traces_span_metrics_duration_milliseconds_bucket{k8s_namespace_name="shop", service_name="checkout"}[5m])))
}
