package remotewriteexporter

import (
	"errors"

	prw "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config is the contrib exporter's configuration, every key as it documents
// it, plus sending_queue.
type Config struct {
	prw.Config `mapstructure:",squash"`
	// Queue is the collector's sending queue, ahead of the contrib
	// exporter. Off by default; with storage set it lives on disk.
	Queue configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
}

// Unmarshal hands sending_queue to the collector's queue settings and every
// other key to the contrib exporter's own unmarshalling.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	rest := conf.ToStringMap()
	queue, hasQueue := rest["sending_queue"]
	delete(rest, "sending_queue")
	if err := confmap.NewFromStringMap(rest).Unmarshal(&c.Config); err != nil {
		return err
	}
	if !hasQueue {
		return nil
	}
	q := struct {
		Queue configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	}{Queue: configoptional.Default(exporterhelper.NewDefaultQueueConfig())}
	if err := confmap.NewFromStringMap(map[string]any{"sending_queue": queue}).Unmarshal(&q); err != nil {
		return err
	}
	c.Queue = q.Queue
	return nil
}

// Validate refuses the combinations that would acknowledge from memory or
// keep two logs of the same data.
func (c *Config) Validate() error {
	if !c.Queue.HasValue() {
		return nil
	}
	var errs []error
	if c.RemoteWriteQueue.Enabled {
		errs = append(errs, errors.New("sending_queue and remote_write_queue::enabled cannot both be on: "+
			"the in-memory remote_write_queue would take batches off the sending queue before they are sent; set remote_write_queue::enabled: false"))
	}
	if c.WAL.HasValue() {
		errs = append(errs, errors.New("sending_queue and wal cannot both be set: the sending queue (with storage) already keeps what was accepted; remove wal"))
	}
	return errors.Join(errs...)
}
