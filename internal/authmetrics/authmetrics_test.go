package authmetrics

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func counts(t *testing.T, tel *componenttest.Telemetry) map[[2]string]int64 {
	t.Helper()
	m, err := tel.GetMetric(RequestsMetric)
	if err != nil {
		return nil
	}
	out := map[[2]string]int64{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		a, _ := dp.Attributes.Value(AuthenticatorLabel)
		o, _ := dp.Attributes.Value(OutcomeLabel)
		out[[2]string{a.AsString(), o.AsString()}] += dp.Value
	}
	return out
}

func TestWrapCountsEachDecision(t *testing.T) {
	ctx := context.Background()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(ctx)) })

	f := Wrap(bearertokenauthextension.NewFactory())
	inner := bearertokenauthextension.NewFactory()
	assert.Equal(t, inner.Type(), f.Type())
	assert.Equal(t, inner.Stability(), f.Stability())

	cfg := f.CreateDefaultConfig().(*bearertokenauthextension.Config)
	cfg.BearerToken = configopaque.String("sesame")
	set := extensiontest.NewNopSettings(f.Type())
	set.ID = component.MustNewIDWithName("bearertokenauth", "senders")
	set.TelemetrySettings = tel.NewTelemetrySettings()
	ext, err := f.Create(ctx, set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(ctx)) })

	server, ok := ext.(extensionauth.Server)
	require.True(t, ok, "the wrapped extension authenticates servers")
	cases := []struct {
		name    string
		headers map[string][]string
		ok      bool
	}{
		{"the token", map[string][]string{"authorization": {"Bearer sesame"}}, true},
		{"no header", map[string][]string{}, false},
		{"another token", map[string][]string{"authorization": {"Bearer guess"}}, false},
		{"the token again", map[string][]string{"Authorization": {"Bearer sesame"}}, true},
		{"no scheme", map[string][]string{"authorization": {"sesame"}}, false},
	}
	want := map[[2]string]int64{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := server.Authenticate(ctx, tc.headers)
			outcome := Refused
			if tc.ok {
				outcome = Accepted
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
			want[[2]string{"bearertokenauth/senders", outcome}]++
			assert.Equal(t, want, counts(t, tel))
		})
	}

	// The client side is the inner extension's own.
	grpcClient, ok := ext.(extensionauth.GRPCClient)
	require.True(t, ok)
	creds, err := grpcClient.PerRPCCredentials()
	require.NoError(t, err)
	md, err := creds.GetRequestMetadata(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Bearer sesame", md["authorization"])
	_, ok = ext.(extensionauth.HTTPClient)
	assert.True(t, ok)
}

func TestWrapLeavesOtherExtensionsAlone(t *testing.T) {
	ctx := context.Background()
	inner := extension.NewFactory(component.MustNewType("plain"), func() component.Config { return struct{}{} },
		func(context.Context, extension.Settings, component.Config) (extension.Extension, error) {
			return plainExtension{}, nil
		}, component.StabilityLevelBeta)
	ext, err := Wrap(inner).Create(ctx, extensiontest.NewNopSettings(inner.Type()), struct{}{})
	require.NoError(t, err)
	assert.Equal(t, plainExtension{}, ext)
}

type plainExtension struct{ component.StartFunc }

func (plainExtension) Shutdown(context.Context) error { return nil }

func TestAdminCountsRefusals(t *testing.T) {
	ctx := context.Background()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(ctx)) })
	var a Admin
	require.NoError(t, a.Register(tel.NewTelemetrySettings().MeterProvider))
	assert.Equal(t, map[[2]string]int64{{AdminAuthenticator, Refused}: 0}, counts(t, tel))
	a.Refused()
	a.Refused()
	assert.Equal(t, map[[2]string]int64{{AdminAuthenticator, Refused}: 2}, counts(t, tel))
}
