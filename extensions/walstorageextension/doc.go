// Package walstorageextension is a collector storage extension (component
// type wal_storage) that keeps each client's keys and values in a
// write-ahead log of checksummed segment files, so that a crash or a
// damaged file costs at most the damaged records and never a failed start.
// It is meant for exporterhelper's persistent sending queue.
package walstorageextension
