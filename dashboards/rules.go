package dashboards

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/braidobs/braid/correlate/links"
)

// BurnAlert is one alert of the multi-window, multi-burn-rate recipe: it
// fires when the error budget burns faster than Factor times the sustainable
// rate over both the long and the short window (the short window makes the
// alert stop soon after the burn does).
type BurnAlert struct {
	Severity string
	Long     time.Duration
	Short    time.Duration
	Factor   float64
}

// BurnAlerts are the published recipe's windows for a 30-day SLO: page on
// 2% of the budget spent in an hour or 5% in six hours; open a ticket on 10%
// spent in a day or in three days.
var BurnAlerts = []BurnAlert{
	{"page", time.Hour, 5 * time.Minute, 14.4},
	{"page", 6 * time.Hour, 30 * time.Minute, 6},
	{"ticket", 24 * time.Hour, 2 * time.Hour, 3},
	{"ticket", 72 * time.Hour, 6 * time.Hour, 1},
}

// sloLabels are the labels an SLO is kept per: one service in one
// namespace of one cluster.
var sloLabels = strings.Join([]string{links.MetricLabelCluster, links.MetricLabelNamespace, links.MetricLabelService}, ", ")

// sli is one service level indicator: a ratio of bad calls per window,
// recorded under name:rate<window>.
type sli struct {
	record  string // recording rule name without the window suffix
	alert   string // alert name prefix
	what    string // the budget's name, for annotations
	bad     string // what a bad call is, for annotations
	target  float64
	badExpr func(window string) string
}

func slis(cfg Config) []sli {
	served := servedSpanKinds
	le := strconv.FormatFloat(cfg.LatencyThresholdMs, 'f', -1, 64)
	leMatch := strconv.Quote(LeRegex(cfg.LatencyThresholdMs))
	return []sli{
		{
			record: "braid:service_error_ratio", alert: "BraidServiceErrorBudgetBurn", what: "error", bad: "failed calls", target: cfg.AvailabilitySLO,
			badExpr: func(w string) string {
				return fmt.Sprintf(`sum by (%s) (rate(%s{%s, %s="%s"}[%s]))`+"\n/\n"+`sum by (%s) (rate(%s{%s}[%s]))`,
					sloLabels, links.MetricSpanCalls, served, links.MetricLabelStatusCode, links.StatusCodeError, w,
					sloLabels, links.MetricSpanCalls, served, w)
			},
		},
		{
			record: "braid:service_slow_ratio", alert: "BraidServiceLatencyBudgetBurn",
			what: "latency", bad: fmt.Sprintf("calls slower than %s ms", le), target: cfg.LatencySLO,
			badExpr: func(w string) string {
				return fmt.Sprintf(`1 - (`+"\n"+`sum by (%s) (rate(%s{%s, %s=~%s}[%s]))`+"\n/\n"+`sum by (%s) (rate(%s{%s}[%s]))`+"\n)",
					sloLabels, links.MetricSpanDurationBucket, served, links.MetricLabelBucket, leMatch, w,
					sloLabels, links.MetricSpanDurationCount, served, w)
			},
		},
	}
}

// LeRegex matches a bucket bound however it reached Prometheus: "400" from
// the text format and remote write, "400.0" from OpenMetrics and from
// Prometheus 3, which normalises le to a float.
func LeRegex(ms float64) string {
	le := strings.ReplaceAll(strconv.FormatFloat(ms, 'f', -1, 64), ".", `\.`)
	if !strings.Contains(le, `\.`) {
		le += `(\.0)?`
	}
	return le
}

func promDuration(d time.Duration) string { return model.Duration(d).String() }

// RulesYAML renders the Prometheus rule file: recording rules for the SLIs
// over every window of the recipe, the burn-rate alerts per service, and
// alerts on Braid's own health. Annotations link to the dashboards with the
// alert's service (or instance) preselected.
func RulesYAML(cfg Config) ([]byte, error) {
	var windows []time.Duration
	seen := map[time.Duration]bool{}
	for _, a := range BurnAlerts {
		for _, w := range []time.Duration{a.Short, a.Long} {
			if !seen[w] {
				seen[w] = true
				windows = append(windows, w)
			}
		}
	}
	slices := slis(cfg)

	recording := rulefmt.RuleGroup{Name: "braid-slo-recording"}
	for _, s := range slices {
		for _, w := range windows {
			recording.Rules = append(recording.Rules, rulefmt.Rule{
				Record: s.record + ":rate" + promDuration(w),
				Expr:   s.badExpr(promDuration(w)),
			})
		}
	}

	serviceLink := fmt.Sprintf(`%s/d/%s?var-%s={{ $labels.%s | urlquery }}&var-%s={{ $labels.%s | urlquery }}&var-%s={{ $labels.%s | urlquery }}`,
		strings.TrimRight(cfg.GrafanaURL, "/"), links.DashboardServiceOverview,
		links.VarCluster, links.MetricLabelCluster, links.VarNamespace, links.MetricLabelNamespace, links.VarService, links.MetricLabelService)
	alerts := rulefmt.RuleGroup{Name: "braid-slo-alerts"}
	for _, s := range slices {
		budget := fmt.Sprintf("(1 - %s)", strconv.FormatFloat(s.target, 'f', -1, 64))
		for _, sev := range []string{"page", "ticket"} {
			var clauses, windows []string
			for _, a := range BurnAlerts {
				if a.Severity != sev {
					continue
				}
				factor := strconv.FormatFloat(a.Factor, 'f', -1, 64)
				clauses = append(clauses, fmt.Sprintf("(\n  %s:rate%s > (%s * %s)\nand\n  %s:rate%s > (%s * %s)\n)",
					s.record, promDuration(a.Long), factor, budget, s.record, promDuration(a.Short), factor, budget))
				windows = append(windows, fmt.Sprintf("%s×%s over %s and %s", factor, "budget", promDuration(a.Long), promDuration(a.Short)))
			}
			name := s.alert + "Fast"
			if sev == "ticket" {
				name = s.alert + "Slow"
			}
			alerts.Rules = append(alerts.Rules, rulefmt.Rule{
				Alert:  name,
				Expr:   strings.Join(clauses, "\nor\n"),
				Labels: map[string]string{"severity": sev},
				Annotations: map[string]string{
					"summary": fmt.Sprintf("{{ $labels.%s }} in {{ $labels.%s }} is burning its %s budget (SLO %s)",
						links.MetricLabelService, links.MetricLabelNamespace, s.what, strconv.FormatFloat(s.target, 'f', -1, 64)),
					"description":   "The ratio of " + s.bad + " burns the budget faster than the multi-window recipe allows: " + strings.Join(windows, "; ") + ".",
					"dashboard_url": serviceLink,
				},
			})
		}
	}

	braidLink := fmt.Sprintf(`%s/d/%s?var-%s={{ $labels.instance | urlquery }}`, strings.TrimRight(cfg.GrafanaURL, "/"), links.DashboardBraid, varInstance)
	health := rulefmt.RuleGroup{Name: "braid-health"}
	// perSignal joins one "fn(metric[5m]) > 0" per signal, summed by
	// instance and the label by.
	perSignal := func(fn string, metric func(signalMetrics) string, by string) string {
		parts := make([]string, 0, len(signals))
		for _, s := range signals {
			parts = append(parts, fmt.Sprintf("sum by (instance, %s) (%s(%s[5m])) > 0", by, fn, metric(s)))
		}
		return strings.Join(parts, "\nor\n")
	}
	health.Rules = []rulefmt.Rule{
		{
			Alert:  "BraidRefusingData",
			Expr:   perSignal("rate", func(s signalMetrics) string { return s.refused }, labelReceiver),
			For:    model.Duration(5 * time.Minute),
			Labels: map[string]string{"severity": "ticket"},
			Annotations: map[string]string{
				"summary":       "Braid {{ $labels.instance }}: receiver {{ $labels.receiver }} refuses data",
				"description":   "The receiver has refused items for 5 minutes: senders get errors and may drop data. Usually the memory limiter is pushing back.",
				"dashboard_url": braidLink,
			},
		},
		{
			Alert:  "BraidExportFailing",
			Expr:   perSignal("rate", func(s signalMetrics) string { return s.failed }, labelExporter),
			For:    model.Duration(10 * time.Minute),
			Labels: map[string]string{"severity": "ticket"},
			Annotations: map[string]string{
				"summary":       "Braid {{ $labels.instance }}: exporter {{ $labels.exporter }} fails to send",
				"description":   "The exporter has failed to send items for 10 minutes: its backend is down or refusing data.",
				"dashboard_url": braidLink,
			},
		},
		{
			// Behind a sending queue, a failed send has been retried as
			// retry_on_failure allows and the items have left the queue: they
			// are lost, so any of it pages, at once.
			Alert:  "BraidExporterDroppedData",
			Expr:   perSignal("increase", func(s signalMetrics) string { return s.failed }, labelExporter),
			Labels: map[string]string{"severity": "page"},
			Annotations: map[string]string{
				"summary":       "Braid {{ $labels.instance }}: exporter {{ $labels.exporter }} dropped data",
				"description":   "Items failed to send after every retry and left the sending queue: they are lost. The backend refused them with a permanent error (look for its answer in Braid's log), or retry_on_failure::max_elapsed_time ran out.",
				"dashboard_url": braidLink,
			},
		},
		{
			// wal_storage found a damaged queue file at start (a disk
			// fault, or a file edited by hand): what it held is lost.
			Alert:  "BraidQueueStorageDamaged",
			Expr:   fmt.Sprintf("sum by (instance, %s) (increase(%s[15m])) > 0", labelClient, metricStorageLostBytes),
			Labels: map[string]string{"severity": "page"},
			Annotations: map[string]string{
				"summary":       "Braid {{ $labels.instance }}: queue storage {{ $labels.client }} lost {{ $value | humanize1024 }}B to a damaged file",
				"description":   "At start, wal_storage found a damaged queue file: it copied the file into corrupt/ and lost the records after the damage. Look for the damage in Braid's log, and at the disk.",
				"dashboard_url": braidLink,
			},
		},
		{
			Alert: "BraidQueueNearlyFull",
			Expr: fmt.Sprintf("max by (instance, %s, %s) (%s / %s) > 0.8",
				labelExporter, labelDataType, metricQueueSize, metricQueueCapacity),
			For:    model.Duration(5 * time.Minute),
			Labels: map[string]string{"severity": "page"},
			Annotations: map[string]string{
				"summary":       "Braid {{ $labels.instance }}: sending queue of {{ $labels.exporter }} is {{ $value | humanizePercentage }} full",
				"description":   "When the queue is full the exporter drops new data.",
				"dashboard_url": braidLink,
			},
		},
		{
			Alert:  "BraidLokiDroppingEntries",
			Expr:   fmt.Sprintf("sum by (instance, %s) (rate(%s[5m])) > 0", labelReason, metricLokiDroppedEntries),
			Labels: map[string]string{"severity": "ticket"},
			Annotations: map[string]string{
				"summary":       "Braid {{ $labels.instance }}: Loki refuses log entries ({{ $labels.reason }})",
				"description":   "Loki answered with a permanent error; the entries are dropped.",
				"dashboard_url": braidLink,
			},
		},
		{
			Alert:  "BraidSpanMetricsOverflow",
			Expr:   fmt.Sprintf("sum by (instance) (rate(%s[5m])) > 0", metricSpanMetricsOverflow),
			For:    model.Duration(10 * time.Minute),
			Labels: map[string]string{"severity": "ticket"},
			Annotations: map[string]string{
				"summary":       "Braid {{ $labels.instance }}: span metrics beyond max_series go to the overflow series",
				"description":   "New series of the span-metrics connector are counted without their service, operation and pod labels. Raise max_series, shorten metrics_expiration, or drop a dimension with many values.",
				"dashboard_url": braidLink,
			},
		},
		{
			Alert:  "BraidConfigReloadFailed",
			Expr:   metricConfigReloadOK + " == 0",
			For:    model.Duration(5 * time.Minute),
			Labels: map[string]string{"severity": "ticket"},
			Annotations: map[string]string{
				"summary":       "Braid {{ $labels.instance }}: its configuration was refused",
				"description":   "The last configuration Braid read (SIGHUP, POST /-/reload or a changed file) failed its check: the one before keeps running, and the change is not applied. Braid's log names the key at fault.",
				"dashboard_url": braidLink,
			},
		},
		{
			// A rollout changes every replica's hash within minutes; one
			// that stays apart has refused it or missed it.
			Alert:  "BraidConfigDiffers",
			Expr:   fmt.Sprintf("count by (job) (count by (job, %s) (%s)) > 1", labelConfigHash, metricConfigInfo),
			For:    model.Duration(15 * time.Minute),
			Labels: map[string]string{"severity": "ticket"},
			Annotations: map[string]string{
				"summary":       "Braid job {{ $labels.job }} runs {{ $value }} different configurations",
				"description":   "Collectors of one job have run different configurations for 15 minutes (config_hash of braid_config_info): a replica refused a change (see BraidConfigReloadFailed) or has not seen it.",
				"dashboard_url": braidLink,
			},
		},
		{
			// A sender whose token was rotated away, or someone trying
			// tokens: either way somebody's requests do not get in.
			Alert:  "BraidRefusingUnauthenticated",
			Expr:   fmt.Sprintf(`sum by (instance, %s) (rate(%s{%s="refused"}[5m])) > 0.1`, labelAuthenticator, metricAuthRequests, labelOutcome),
			For:    model.Duration(10 * time.Minute),
			Labels: map[string]string{"severity": "ticket"},
			Annotations: map[string]string{
				"summary":       "Braid {{ $labels.instance }}: {{ $labels.authenticator }} refuses requests",
				"description":   "For 10 minutes, requests without a token that {{ $labels.authenticator }} knows have been refused (401, gRPC UNAUTHENTICATED): a sender or reader with a missing, old or wrong token, or someone trying tokens. Their data is not taken in.",
				"dashboard_url": braidLink,
			},
		},
	}
	// The usage dashboard's trend reads a week of these.
	sender := strings.Join([]string{"instance", labelSignal, labelUsageNamespace, labelUsageWorkload, labelUsageService}, ", ")
	usage := rulefmt.RuleGroup{Name: "braid-usage-recording", Rules: []rulefmt.Rule{
		{Record: recordUsageBytes, Expr: fmt.Sprintf("sum by (%s) (rate(%s[5m]))", sender, metricUsageReceivedBytes)},
		{Record: recordUsageItems, Expr: fmt.Sprintf("sum by (%s) (rate(%s[5m]))", sender, metricUsageReceivedItems)},
		{Record: recordUsageExportedBytes, Expr: fmt.Sprintf("sum by (instance, %s, %s, %s) (rate(%s[5m]))", labelSignal, labelExporter, labelUsageNamespace, metricUsageExportedBytes)},
	}}
	return marshalYAML("# Braid's Prometheus rules. Generated by `braid dashboards generate`; do not edit.\n",
		rulefmt.RuleGroups{Groups: []rulefmt.RuleGroup{recording, alerts, health, usage}})
}
