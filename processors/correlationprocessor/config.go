package correlationprocessor

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/braidobs/braid/correlate"
)

// Pod identity sources accepted in pod_identity.sources.
const (
	PodSourceAttributes    = "attributes"
	PodSourceLogPath       = "log_path"
	PodSourceSenderAddress = "sender_address"
)

// Values of trace_context::source_attribute: which linked log records get
// the braid.trace_context.source attribute.
const (
	// SourceAttributeAll marks every record whose trace context Braid
	// wrote: from an attribute, from the body, or inferred.
	SourceAttributeAll = "all"
	// SourceAttributeInferredOnly marks inferred links only. A record
	// linked from its own attributes or body then carries no marker, as a
	// record whose trace context the application set itself.
	SourceAttributeInferredOnly = "inferred_only"
)

// Config is the correlation processor's configuration.
type Config struct {
	// MaxTraces bounds the traces with spans in the index. Default 100000.
	MaxTraces int `mapstructure:"max_traces"`
	// MaxLogOnlyTraces bounds, separately, the traces that only log
	// records have named; they never evict traces with spans. 0 means
	// max_traces/4. Default 25000.
	MaxLogOnlyTraces int `mapstructure:"max_log_only_traces"`
	// TTL is how long a trace stays in the index after its last span or
	// log. Default 10m.
	TTL time.Duration `mapstructure:"ttl"`
	// Shards is the number of independently locked parts of the index.
	// Default 16.
	Shards int `mapstructure:"shards"`
	// MaxKeys bounds how many pods, and how many services, keep a history
	// of recent traces and spans. Default 4096.
	MaxKeys int `mapstructure:"max_keys"`
	// SpansPerKey is how many recent spans each pod and service history
	// holds, for inferred log links and exemplars. Default 128.
	SpansPerKey int `mapstructure:"spans_per_key"`
	// UnlinkedLinesPerPod is how many recent log lines that got no trace
	// context are kept per pod (time, reason, first 64 bytes of the
	// body), for `braid doctor --trace`. 0 keeps none. Default 16.
	UnlinkedLinesPerPod int `mapstructure:"unlinked_lines_per_pod"`
	// TraceContext says where log records' trace context is looked for.
	TraceContext TraceContextConfig `mapstructure:"trace_context"`
	// PodIdentity says where pod identity comes from.
	PodIdentity PodIdentityConfig `mapstructure:"pod_identity"`
	// Pods is a static list of pods for the pod resolver (tests, sidecars).
	// Default empty.
	Pods []correlate.Pod `mapstructure:"pods"`
	// PodResolver names an extension that resolves pods (implements
	// correlate.PodResolver), such as Braid's Kubernetes pod cache. Asked
	// after Pods. Default empty: none.
	PodResolver string `mapstructure:"pod_resolver"`
	// InferLogLinks links log lines without trace context to the only span
	// active in their pod. Off by default.
	InferLogLinks InferLogLinksConfig `mapstructure:"infer_log_links"`
	// Exemplars adds inferred exemplars to metric points. Off by default.
	Exemplars ExemplarsConfig `mapstructure:"exemplars"`
	// Multiline joins the lines of a stack trace read from a container log
	// into one record. Off by default.
	Multiline MultilineConfig `mapstructure:"multiline"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// TraceContextConfig configures trace-context extraction from log records.
type TraceContextConfig struct {
	// Sources lists where to look, in order: attributes, body. Default both,
	// attributes first.
	Sources []string `mapstructure:"sources"`
	// TraceIDKeys name fields that hold a trace ID (matched ignoring ASCII
	// case). Default: trace_id, traceid, trace.id, trace-id, oteltraceid,
	// @tr, x-b3-traceid.
	TraceIDKeys []string `mapstructure:"trace_id_keys"`
	// SpanIDKeys name fields that hold a span ID. Default: span_id, spanid,
	// span.id, span-id, otelspanid, @sp, x-b3-spanid.
	SpanIDKeys []string `mapstructure:"span_id_keys"`
	// TraceparentKeys name fields that hold a W3C traceparent. Default:
	// traceparent.
	TraceparentKeys []string `mapstructure:"traceparent_keys"`
	// B3Keys name fields that hold a B3 single header. Default: b3.
	B3Keys []string `mapstructure:"b3_keys"`
	// BodyPaths are dotted paths of objects nested in a map or JSON body
	// that are searched like top-level fields. Default: mdc, context,
	// contextMap, Scopes, Properties, attributes, fields, span, otel.
	BodyPaths []string `mapstructure:"body_paths"`
	// SourceAttribute says which linked records get the
	// braid.trace_context.source attribute: inferred_only (the default)
	// or all.
	SourceAttribute string `mapstructure:"source_attribute"`
}

// PodIdentityConfig configures where pod identity comes from.
type PodIdentityConfig struct {
	// Sources lists the sources tried, in order: attributes, log_path,
	// sender_address. Default all three. Leave sender_address out on a
	// gateway: there the sender is an agent, not the pod.
	Sources []string `mapstructure:"sources"`
}

// InferLogLinksConfig configures inferred log links.
type InferLogLinksConfig struct {
	// Enabled turns inference on. Default false.
	Enabled bool `mapstructure:"enabled"`
	// Delay is how long a log line without trace context may be held for
	// its spans to arrive. Zero passes lines on at once. Default 2s.
	Delay time.Duration `mapstructure:"delay"`
	// MaxDelayedLogs bounds the lines held; when full, lines pass on
	// unlinked. Default 10000.
	MaxDelayedLogs int `mapstructure:"max_delayed_logs"`
}

// MultilineConfig configures the joining of container log lines that
// continue a record (correlate.ContinuesRecord) into it.
type MultilineConfig struct {
	// Enabled turns joining on. Default false.
	Enabled bool `mapstructure:"enabled"`
	// MaxLines bounds the lines of one record. Default 500.
	MaxLines int `mapstructure:"max_lines"`
	// MaxBytes bounds the body of one record. Default 65536.
	MaxBytes int `mapstructure:"max_bytes"`
}

// ExemplarsConfig configures inferred exemplars.
type ExemplarsConfig struct {
	// Enabled turns inferred exemplars on. Default false.
	Enabled bool `mapstructure:"enabled"`
	// MaxAge is how long before a point's timestamp a span may have ended
	// to be used. Default 1m.
	MaxAge time.Duration `mapstructure:"max_age"`
	// MaxPerPoint bounds the exemplars added to one histogram point (one per
	// bucket at most). Default 4.
	MaxPerPoint int `mapstructure:"max_per_point"`
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	x := correlate.DefaultExtractorConfig()
	return &Config{
		MaxTraces:        100_000,
		MaxLogOnlyTraces: 25_000,
		TTL:              10 * time.Minute,
		Shards:           16,
		MaxKeys:          4096,
		SpansPerKey:      128,
		// 16 lines of about 80 bytes for each of max_keys pods: at most
		// about 5 MiB at the defaults.
		UnlinkedLinesPerPod: 16,
		TraceContext: TraceContextConfig{
			Sources:         x.Sources,
			TraceIDKeys:     x.TraceIDKeys,
			SpanIDKeys:      x.SpanIDKeys,
			TraceparentKeys: x.TraceparentKeys,
			B3Keys:          x.B3Keys,
			BodyPaths:       x.BodyPaths,
			SourceAttribute: SourceAttributeInferredOnly,
		},
		PodIdentity:   PodIdentityConfig{Sources: []string{PodSourceAttributes, PodSourceLogPath, PodSourceSenderAddress}},
		InferLogLinks: InferLogLinksConfig{Delay: 2 * time.Second, MaxDelayedLogs: 10_000},
		Exemplars:     ExemplarsConfig{MaxAge: time.Minute, MaxPerPoint: 4},
		Multiline:     MultilineConfig{MaxLines: 500, MaxBytes: 64 << 10},
	}
}

func (c *TraceContextConfig) extractorConfig() correlate.ExtractorConfig {
	return correlate.ExtractorConfig{
		Sources:         c.Sources,
		TraceIDKeys:     c.TraceIDKeys,
		SpanIDKeys:      c.SpanIDKeys,
		TraceparentKeys: c.TraceparentKeys,
		B3Keys:          c.B3Keys,
		BodyPaths:       c.BodyPaths,
	}
}

// Validate checks the configuration; each message names the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxTraces <= 0 {
		errs = append(errs, fmt.Errorf("max_traces must be positive, got %d", c.MaxTraces))
	}
	if c.MaxLogOnlyTraces < 0 {
		errs = append(errs, fmt.Errorf("max_log_only_traces must not be negative, got %d", c.MaxLogOnlyTraces))
	}
	if c.TTL <= 0 {
		errs = append(errs, fmt.Errorf("ttl must be positive, got %s", c.TTL))
	}
	if c.Shards <= 0 {
		errs = append(errs, fmt.Errorf("shards must be positive, got %d", c.Shards))
	}
	if c.MaxKeys <= 0 {
		errs = append(errs, fmt.Errorf("max_keys must be positive, got %d", c.MaxKeys))
	}
	if c.SpansPerKey <= 0 {
		errs = append(errs, fmt.Errorf("spans_per_key must be positive, got %d", c.SpansPerKey))
	}
	if c.UnlinkedLinesPerPod < 0 {
		errs = append(errs, fmt.Errorf("unlinked_lines_per_pod must not be negative, got %d", c.UnlinkedLinesPerPod))
	}
	if len(c.TraceContext.Sources) == 0 {
		errs = append(errs, errors.New("trace_context::sources must name at least one source"))
	}
	if _, err := correlate.NewExtractor(c.TraceContext.extractorConfig()); err != nil {
		errs = append(errs, fmt.Errorf("trace_context::%w", err))
	}
	switch c.TraceContext.SourceAttribute {
	case SourceAttributeAll, SourceAttributeInferredOnly:
	default:
		errs = append(errs, fmt.Errorf("trace_context::source_attribute: unknown value %q (want %s or %s)",
			c.TraceContext.SourceAttribute, SourceAttributeAll, SourceAttributeInferredOnly))
	}
	for i, s := range c.PodIdentity.Sources {
		switch s {
		case PodSourceAttributes, PodSourceLogPath, PodSourceSenderAddress:
		default:
			errs = append(errs, fmt.Errorf("pod_identity::sources[%d]: unknown pod identity source %q (want %s, %s or %s)",
				i, s, PodSourceAttributes, PodSourceLogPath, PodSourceSenderAddress))
		}
	}
	if c.PodResolver != "" {
		var id component.ID
		if err := id.UnmarshalText([]byte(c.PodResolver)); err != nil {
			errs = append(errs, fmt.Errorf("pod_resolver: %q is not a component ID: %w", c.PodResolver, err))
		}
	}
	for i, p := range c.Pods {
		if !p.Known() && p.IP == "" {
			errs = append(errs, fmt.Errorf("pods[%d]: a pod needs a uid, an ip, or a namespace and a name", i))
		}
	}
	if c.InferLogLinks.Delay < 0 {
		errs = append(errs, fmt.Errorf("infer_log_links::delay must not be negative, got %s", c.InferLogLinks.Delay))
	}
	if c.InferLogLinks.MaxDelayedLogs < 0 {
		errs = append(errs, fmt.Errorf("infer_log_links::max_delayed_logs must not be negative, got %d", c.InferLogLinks.MaxDelayedLogs))
	}
	if c.Exemplars.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("exemplars::max_age must be positive, got %s", c.Exemplars.MaxAge))
	}
	if c.Exemplars.MaxPerPoint <= 0 {
		errs = append(errs, fmt.Errorf("exemplars::max_per_point must be positive, got %d", c.Exemplars.MaxPerPoint))
	}
	if c.Multiline.MaxLines <= 0 {
		errs = append(errs, fmt.Errorf("multiline::max_lines must be positive, got %d", c.Multiline.MaxLines))
	}
	if c.Multiline.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("multiline::max_bytes must be positive, got %d", c.Multiline.MaxBytes))
	}
	return errors.Join(errs...)
}
