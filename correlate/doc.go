// Package correlate links telemetry signals to one another: it finds the
// trace context that a log line carries, names the Kubernetes pod that a
// signal came from, and keeps a bounded index of recent traces that logs and
// metrics can be linked against.
//
// The package is a plain library. It depends on pdata for its data types and
// on nothing from the collector's component packages, so it can be used and
// tested without a collector. Braid's correlation processor
// (processors/correlationprocessor) is a thin adapter over it.
//
// The pieces:
//
//   - [ExtractTraceContext] and [Extractor]: trace and span IDs from a log
//     record's attributes or body (map, JSON, logfmt-style text, W3C
//     traceparent, B3), as OpenTelemetry's log integrations and those of
//     Zipkin/Sleuth, Jaeger, Datadog, AWS X-Ray, Google Cloud, Application
//     Insights, Elastic, New Relic and Dynatrace print them, with no regular
//     expressions and no allocation on the common paths.
//   - [Pod], [PodResolver], [StaticPodResolver], [PodFromLogPath] and
//     [PodFromAttributes]: pod identity as OpenTelemetry semantic-convention
//     resource attributes; [PodIdentifier] tries the sources in their order
//     and merges what each knows.
//   - [ContinuesRecord] and [JoinContinuations]: the lines of a stack trace
//     in a container log joined into one record.
//   - [TraceIndex]: trace ID to services, pods, time span, root operation,
//     error flag and counts; pod and service to their recent traces and spans.
//     Bounded by count and age, sharded, every eviction counted. It also
//     answers the questions behind inferred log links ([TraceIndex.InferSpan],
//     with [DelayBudget] bounding the records that wait for their spans, and
//     [TraceIndex.InferLink] with why not) and inferred exemplars
//     ([TraceIndex.AddExemplars], which matches spans to histogram buckets);
//     keeps, per pod, a bounded ring of recent lines left unlinked
//     ([TraceIndex.AddUnlinked]); and explains a trace: its records by how
//     they were linked, its pods' spans and unlinked lines in its window
//     ([TraceIndex.Explain]).
//
// Links that Braid infers rather than reads are always marked: the attribute
// [SourceAttributeKey] on a log record says where its trace context came from.
package correlate
