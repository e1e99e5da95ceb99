package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/braidobs/braid/drill"
	"github.com/braidobs/braid/extensions/drillextension"
)

// defaultDrillEndpoint is where the drill-down API listens by default.
const defaultDrillEndpoint = drillextension.DefaultEndpoint

type drillOptions struct {
	endpoint, token             string
	service, pod, trace, alerts string
	since, minDuration          string
	errorsOnly, asJSON          bool
	limit                       int
	timeout                     time.Duration
	// warnings gets the partial-answer warning when the table is not
	// printed (--json); nil means standard error.
	warnings io.Writer
}

func newDrillCommand() *cobra.Command {
	o := drillOptions{}
	cmd := &cobra.Command{
		Use:   "drill",
		Short: "Find the traces behind a service, pod, trace or alert, with links to their logs",
		Long: "drill asks a running Braid's drill-down API which recent traces of a service or pod\n" +
			"failed or were slow, what it knows of one trace, or which traces are behind the alerts\n" +
			"of an Alertmanager webhook payload, and prints them with Grafana links.\n" +
			"It talks to " + defaultDrillEndpoint + " unless --endpoint or BRAID_DRILL_ENDPOINT says otherwise.",
		Example: "  braid drill --service checkout --since 30m --errors-only\n" +
			"  braid drill --pod 6f1c1a52-3c4e-4d5f-9a8b-0c1d2e3f4a5b\n" +
			"  braid drill --trace 4bf92f3577b34da6a3ce929d0e0e4736 --json\n" +
			"  braid drill --alert-file alert.json",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.warnings = c.ErrOrStderr()
			return runDrill(c.Context(), c.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.endpoint, "endpoint", envOr("BRAID_DRILL_ENDPOINT", defaultDrillEndpoint), "drill-down API of a running Braid")
	f.StringVar(&o.token, "token", os.Getenv("BRAID_DRILL_TOKEN"), "bearer token, when the API requires one (or BRAID_DRILL_TOKEN)")
	f.StringVar(&o.service, "service", "", "service name")
	f.StringVar(&o.pod, "pod", "", "pod UID, or namespace/name")
	f.StringVar(&o.trace, "trace", "", "trace ID (32 hex digits)")
	f.StringVar(&o.alerts, "alert-file", "", "Alertmanager webhook payload (JSON) to enrich; - reads standard input")
	f.StringVar(&o.since, "since", "15m", "how far back to look: a duration or an RFC 3339 time")
	f.StringVar(&o.minDuration, "min-duration", "", "only traces at least this long (e.g. 500ms)")
	f.BoolVar(&o.errorsOnly, "errors-only", false, "only failed traces")
	f.IntVar(&o.limit, "limit", 10, "at most this many traces")
	f.BoolVar(&o.asJSON, "json", false, "print the API's JSON instead of a table")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long to wait for Braid")
	return cmd
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func runDrill(ctx context.Context, out io.Writer, o drillOptions) error {
	chosen := 0
	for _, v := range []string{o.service, o.pod, o.trace, o.alerts} {
		if v != "" {
			chosen++
		}
	}
	if chosen != 1 {
		return errors.New("give exactly one of --service, --pod, --trace or --alert-file")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	base := strings.TrimRight(o.endpoint, "/")
	if !strings.Contains(base, "://") {
		// The same host:port the drill extension is configured with.
		base = "http://" + base
	}

	q := url.Values{}
	q.Set("since", o.since)
	q.Set("limit", fmt.Sprint(o.limit))
	if o.errorsOnly {
		q.Set("errors_only", "true")
	}
	if o.minDuration != "" {
		q.Set("min_duration", o.minDuration)
	}

	var (
		method, path string
		body         io.Reader
	)
	switch {
	case o.trace != "":
		method, path = http.MethodGet, "/api/v1/traces/"+url.PathEscape(o.trace)
	case o.service != "":
		method, path = http.MethodGet, "/api/v1/services/"+url.PathEscape(o.service)+"/traces?"+q.Encode()
	case o.pod != "":
		method, path = http.MethodGet, "/api/v1/pods/"+url.PathEscape(o.pod)+"/traces?"+q.Encode()
	default:
		payload, err := readAlertFile(o.alerts)
		if err != nil {
			return err
		}
		method, path, body = http.MethodPost, "/api/v1/alerts", bytes.NewReader(payload)
	}

	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o.token != "" {
		req.Header.Set("Authorization", "Bearer "+o.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reach Braid's drill-down API at %s (is Braid running with the drill extension? --endpoint): %w", base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e drill.Error
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return fmt.Errorf("braid answered %s: %s", resp.Status, e.Error)
		}
		return fmt.Errorf("braid answered %s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	var fleet drill.Fleet
	_ = json.Unmarshal(raw, &fleet)
	if o.asJSON {
		if fleet.Partial {
			w := o.warnings
			if w == nil {
				w = os.Stderr
			}
			fmt.Fprintln(w, partialWarning(fleet))
		}
		_, err := out.Write(raw)
		return err
	}
	if fleet.Partial {
		fmt.Fprintln(out, partialWarning(fleet))
	}

	switch {
	case o.trace != "":
		var t drill.Trace
		if err := json.Unmarshal(raw, &t); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		return printTraces(out, []drill.Trace{t})
	case o.alerts != "":
		var a drill.AlertResponse
		if err := json.Unmarshal(raw, &a); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		for i, e := range a.Alerts {
			if i > 0 {
				fmt.Fprintln(out)
			}
			fmt.Fprintf(out, "alert %s (%s, %s) started %s; traces by %s",
				e.Labels["alertname"], e.Fingerprint, e.Status, e.StartsAt.Format(time.RFC3339), e.Scope)
			if e.Service != "" {
				fmt.Fprintf(out, ", service %s", e.Service)
			}
			if e.Pod != "" {
				fmt.Fprintf(out, ", pod %s/%s", e.Namespace, e.Pod)
			}
			fmt.Fprintln(out)
			if e.Dashboard != "" {
				fmt.Fprintf(out, "dashboard: %s\n", e.Dashboard)
			}
			if err := printTraces(out, e.Traces); err != nil {
				return err
			}
		}
		return nil
	default:
		var l drill.TraceList
		if err := json.Unmarshal(raw, &l); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		return printTraces(out, l.Traces)
	}
}

// partialWarning says which gateway replicas an answer lacks.
func partialWarning(f drill.Fleet) string {
	who := "some gateway replicas"
	if len(f.MissingPeers) > 0 {
		who = "gateway replicas " + strings.Join(f.MissingPeers, ", ")
	}
	return "warning: partial answer: " + who + " did not answer; their part of these traces is missing"
}

func readAlertFile(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read alert file: %w", err)
	}
	return b, nil
}

// printTraces prints a table, then each trace's links.
func printTraces(out io.Writer, traces []drill.Trace) error {
	if len(traces) == 0 {
		_, err := fmt.Fprintln(out, "no traces found")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TRACE\tROOT OPERATION\tDURATION\tERROR\tPODS\tSPANS\tLOGS\tSOURCE")
	for _, t := range traces {
		op := t.RootOperation
		if t.RootService != "" {
			op = t.RootService + ": " + op
		}
		errMark := ""
		if t.Error {
			errMark = "error"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", t.TraceID, op,
			time.Duration(t.DurationMS*float64(time.Millisecond)).Round(time.Millisecond),
			errMark, strings.Join(t.Pods, ","), t.SpanCount, t.LogCount, t.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range traces {
		fmt.Fprintf(out, "\n%s\n  trace:   %s\n  logs:    %s\n  metrics: %s\n", t.TraceID, t.Links.Trace, t.Links.Logs, t.Links.Metrics)
	}
	return nil
}
