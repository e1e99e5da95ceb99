package testcollector

import (
	"net"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/braidobs/braid/internal/testnet"
)

func settings(endpoint string) otelcol.CollectorSettings {
	cfg := `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ` + endpoint + `
exporters:
  debug: {}
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`
	return Settings(func() (otelcol.Factories, error) {
		f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
		var err error
		if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
			return f, err
		}
		f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](debugexporter.NewFactory())
		return f, err
	}, cfg)
}

func TestRunStartsAndStops(t *testing.T) {
	addr := testnet.FreeAddr(t)
	stop, err := Run(t, settings(addr))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("the running collector does not listen on %s: %v", addr, err)
	}
	c.Close()
	stop()
	stop() // a second stop is a no-op
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("%s still answers after stop", addr)
	}
}

func TestRunReportsACollectorThatStoppedEarly(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = Run(t, settings(taken.Addr().String()))
	if err == nil || !strings.Contains(err.Error(), "collector stopped early") {
		t.Fatalf("Run on a taken port: got %v, want a collector that stopped early", err)
	}
}
