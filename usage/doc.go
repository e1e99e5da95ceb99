// Package usage accounts for who sends what through Braid: items and bytes
// per key (a Kubernetes namespace, workload and service), with the number of
// keys that get their own count bounded, whatever the cardinality of the
// input.
//
// A [Ledger] keeps the top N keys by recent volume under their own name and
// folds every other key into [Other]. It tracks a few more keys than it
// names (candidates), so a key that grows is noticed and promoted at the next
// [Ledger.Rank]; what a key sent before it was named stays in Other, so the
// sum over all keys is never counted twice. Memory is bounded by the number
// of tracked keys.
//
// The package has no collector component imports: components translate
// pdata resources to a [Key] ([KeyOf]) and an encoded size, and export a
// ledger's [Ledger.Each] as self-metrics.
package usage // import "github.com/braidobs/braid/usage"
