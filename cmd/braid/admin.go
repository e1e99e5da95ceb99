package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/otelcol"
	"go.uber.org/zap"
)

const (
	adminEndpointEnv     = "BRAID_ADMIN_ENDPOINT"
	defaultAdminEndpoint = "localhost:8891"
	// reloadTimeout bounds how long POST /-/reload waits for the collector.
	reloadTimeout = time.Minute
)

// startAdmin serves Braid's admin endpoint on endpoint until Close:
//
//	POST /-/reload  check the configuration and apply it: 200 once the
//	                collector runs it (or it is unchanged), 400 with the error
//	                when it is refused (the last good one keeps running) or
//	                fails to start (the last good one runs again), 503 when
//	                the collector is not running
//
// It belongs to the process, not to a configuration, so that it stays up
// while a reload rebuilds the collector's components.
//
// With BRAID_ADMIN_TOKEN or BRAID_ADMIN_TOKEN_FILE set, every request needs
// that bearer token (401 otherwise, counted in braid_auth_requests with
// authenticator="admin").
func startAdmin(endpoint string, r *configReloader, state func() otelcol.State) (*http.Server, error) {
	token, err := adminTokenFromEnv()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", endpoint)
	if err != nil {
		return nil, fmt.Errorf("admin endpoint: %w", err)
	}
	srv := &http.Server{Handler: token.guard(adminHandler(r, state), r.adminAuth.Refused), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log().Error("Admin endpoint stopped", zap.Error(err))
		}
	}()
	return srv, nil
}

func adminHandler(r *configReloader, state func() otelcol.State) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), reloadTimeout)
		defer cancel()
		failuresBefore, _ := r.startFailure()
		err := r.Reload(ctx, "POST /-/reload")
		if err == nil {
			err = waitRunning(ctx, state)
		}
		failures, startErr := r.startFailure()
		var invalid *invalidConfigError
		switch {
		case err == nil && failures != failuresBefore:
			http.Error(w, "the configuration passed its check but failed to start; the last good one runs again: "+
				startErr.Error(), http.StatusBadRequest)
		case err == nil:
			fmt.Fprintln(w, "configuration reloaded")
		case errors.As(err, &invalid):
			http.Error(w, err.Error(), http.StatusBadRequest)
		default:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	return mux
}

// waitRunning waits for the collector to run again after a reload rebuilt
// its service.
func waitRunning(ctx context.Context, state func() otelcol.State) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for state() != otelcol.StateRunning {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the collector to run: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}
