# Braid's entry point for humans. `make help` lists the targets.

GO      ?= go
BIN     ?= bin/braid
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
PKGS    ?= ./...
BENCH   ?= .
COUNT   ?= 1

.PHONY: help build run test lint bench fmt clean loadgen bench-e2e bench-kafka bench-parity bench-contrib bench-usage overload fairness faults zerotrust kube drill-fleet dashboards dashboards-deps

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/braid with version and commit stamped in (same flags as the tests, so they share the build cache)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/braid

run: build ## run Braid on its embedded default (OTLP on localhost:4317/4318, metrics on :8889)
	./$(BIN)

test: dashboards-deps ## run every test (unit, component, in-process collector, fuzz seed corpora)
	BRAID_LOGQL_CHECK=require $(GO) test -count=1 $(PKGS)

dashboards: ## regenerate deploy/grafana/ (dashboards, Grafana provisioning, Prometheus rules)
	$(GO) test -count=1 -run TestGeneratedFilesAreCurrent ./dashboards/ -update

dashboards-deps: ## install the LogQL grammar the dashboards tests check queries with (Node.js + npm, installed with apt-get when missing)
	@command -v npm >/dev/null || { echo "npm not found: installing Node.js and npm with apt-get"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	npm ci --prefix dashboards/logqlcheck --no-audit --no-fund

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags kubeapi ./kube/ ./cmd/braid/ ./internal/kubeapi/

fmt: ## format the Go sources
	gofmt -w $$(git ls-files '*.go')

bench: ## run the benchmarks (BENCH=regexp PKGS=./correlate/... COUNT=6 for benchstat)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) $(PKGS)

loadgen: ## build bin/braid-loadgen, the OTLP load generator and sink
	$(GO) build -o bin/braid-loadgen ./cmd/braid-loadgen

# make bench-e2e runs Braid on one core and the load generator on another, so
# that they do not share one, and rates are per core.
BENCH_BRAID_CPUS ?= 1
BENCH_LOADGEN_CPUS ?= 0

bench-e2e: build loadgen bin/otelcol-upstream ## end-to-end load: passthrough (Braid's binary and the upstream-only build), the steps in between, the full pipeline and its contrib-equivalent, the gateway (max rate, CPU per million, peak RSS; profiles in .tmp/profiles)
	@mkdir -p .tmp
	taskset -c $(BENCH_LOADGEN_CPUS) ./bin/braid-loadgen compare --braid $(BIN) --braid-cpus $(BENCH_BRAID_CPUS) \
		--cpu-rate 50000 --step 10s --profile .tmp/profiles \
		--pipeline passthrough=bench/passthrough.yaml --pipeline upstream=bench/passthrough.yaml --binary upstream=bin/otelcol-upstream \
		--pipeline contrib-equivalent=bench/contrib-equivalent.yaml --pipeline correlation=bench/correlation.yaml \
		--pipeline queue=bench/queue.yaml --pipeline queue-wal=bench/queue-wal.yaml --pipeline spanmetrics=bench/spanmetrics.yaml:traces \
		--pipeline spanmetrics-contrib=bench/spanmetrics-contrib.yaml:traces \
		--pipeline loki=bench/loki.yaml:logs --pipeline full=bench/full.yaml --pipeline full-usage=bench/full-usage.yaml \
		--pipeline gateway=bench/gateway.yaml \
		--json .tmp/bench-e2e.json

# bin/otelcol-upstream: a collector from the same release's upstream
# components only (bench/upstream, a module of its own), the baseline that
# bench-parity runs Braid's binary against.
bin/otelcol-upstream: bench/upstream/main.go bench/upstream/go.mod
	cd bench/upstream && $(GO) build -trimpath -ldflags "-s -w" -o ../../bin/otelcol-upstream .

# $(call round,NAME,CONFIG,N): pipeline NAME-N on CONFIG, one of the
# interleaved rounds that bench-parity, bench-contrib and bench-usage run.
round = --pipeline $(1)-$(3)=$(2)

PARITY_ROUNDS := $(foreach n,1 2 3,$(call round,upstream,bench/passthrough.yaml,$(n)) --binary upstream-$(n)=bin/otelcol-upstream $(call round,braid,bench/passthrough.yaml,$(n)))
bench-parity: build loadgen bin/otelcol-upstream ## Braid's binary against an upstream-only collector on the same passthrough config, three interleaved rounds (about 3 minutes)
	@mkdir -p .tmp
	taskset -c $(BENCH_LOADGEN_CPUS) ./bin/braid-loadgen compare --braid $(BIN) --braid-cpus $(BENCH_BRAID_CPUS) \
		--cpu-rate 50000 --rates 50000 --step 5s --signals traces,logs \
		$(PARITY_ROUNDS) --json .tmp/bench-parity.json

# Braid's full pipeline against what a contrib user runs instead
# (bench/contrib-equivalent.yaml), in interleaved rounds at one rate.
CONTRIB_ROUNDS := $(foreach n,1 2 3,$(call round,contrib,bench/contrib-equivalent.yaml,$(n)) $(call round,full,bench/full.yaml,$(n)))
bench-contrib: build loadgen ## Braid's full pipeline against its contrib-equivalent (memory_limiter, batch, contrib's span metrics, OTLP out), three interleaved rounds at 50,000 items/s, each round's ratio (about 3 minutes)
	@mkdir -p .tmp
	taskset -c $(BENCH_LOADGEN_CPUS) ./bin/braid-loadgen compare --braid $(BIN) --braid-cpus $(BENCH_BRAID_CPUS) \
		--cpu-rate 50000 --rates 50000 --step 10s --signals traces,logs $(CONTRIB_ROUNDS) --json .tmp/bench-contrib.json

# The full pipeline with and without the usage processor, in interleaved
# rounds, each pair back to back and every other pair the other way round
# (ABBA), so that a shared machine's drift cancels out.
USAGE_AB = $(call round,full,bench/full.yaml,$(1)) $(call round,usage,bench/full-usage.yaml,$(1))
USAGE_BA = $(call round,usage,bench/full-usage.yaml,$(1)) $(call round,full,bench/full.yaml,$(1))
USAGE_ROUNDS := $(call USAGE_AB,1) $(call USAGE_BA,2) $(call USAGE_AB,3) $(call USAGE_BA,4)
bench-usage: build loadgen ## what usage accounting costs: the full pipeline with and without the usage processor, four interleaved rounds at 50,000 items/s on one core, each round's ratio (about 4 minutes)
	@mkdir -p .tmp
	taskset -c $(BENCH_LOADGEN_CPUS) ./bin/braid-loadgen compare --braid $(BIN) --braid-cpus $(BENCH_BRAID_CPUS) \
		--cpu-rate 50000 --rates 50000 --step 10s --signals traces,logs $(USAGE_ROUNDS) --json .tmp/bench-usage.json

# The Kafka tier's gateway against the same gateway taking OTLP, in
# interleaved rounds: the load reaches it through a relay and a broker that
# run beside the load generator, so only the gateway's own cost is measured.
KAFKA_GATEWAY := bench/gateway.yaml+deploy/configs/kafka-gateway.yaml+bench/kafka-gateway.yaml
bench-kafka: build loadgen ## the gateway reading from Kafka against the gateway taking OTLP, per gateway core, two interleaved rounds (about 8 minutes)
	@mkdir -p .tmp
	taskset -c $(BENCH_LOADGEN_CPUS) ./bin/braid-loadgen compare --braid $(BIN) --braid-cpus $(BENCH_BRAID_CPUS) \
		--cpu-rate 20000 --step 5s --rates 20000,40000,60000,80000,100000,150000 \
		--pipeline otlp-1=bench/gateway.yaml --pipeline kafka-1=$(KAFKA_GATEWAY) \
		--pipeline otlp-2=bench/gateway.yaml --pipeline kafka-2=$(KAFKA_GATEWAY) \
		--kafka-front kafka-1=bench/relay.yaml --kafka-front kafka-2=bench/relay.yaml \
		--json .tmp/bench-kafka.json

overload: build loadgen ## the gateway pipeline (disk queues) flat out: at the agent's memory limit, at 256 MiB with a slow backend, and on a quarter of a core (refusals, latency, peak memory, still alive)
	@mkdir -p .tmp
	./bin/braid-loadgen overload --braid $(BIN) --config bench/gateway.yaml --duration 30s --json .tmp/overload.json
	./bin/braid-loadgen overload --braid $(BIN) --config bench/gateway.yaml --duration 30s \
		--memory-limit-mib 256 --spike-limit-mib 64 --sink-delay 1s --json .tmp/overload-tight.json
	./bin/braid-loadgen overload --braid $(BIN) --config bench/overload-cpu.yaml --signals traces --duration 20s \
		--cpu-quota 0.25 --sustained 15000 --senders-per-connection 10 --json .tmp/overload-cpu.json

# Fair share while CPU, not the backend, runs short: the process test in
# cmd/braid and braid-loadgen's longer run, both on bench/fairness-cpu.yaml
# under a quarter of a core. BRAID_REQUIRE_CGROUP=1 makes the test fail, not
# skip, where no CPU quota can be set.
fairness: build loadgen ## ten namespaces against Braid on a quarter of a core, one sending ten times each other's rate: the nine keep 99% accepted, the flood is refused retryably, the usage metrics count each exactly (about 2 minutes)
	@mkdir -p .tmp
	BRAID_REQUIRE_CGROUP=1 $(GO) test -count=1 -run 'TestFairShareHoldsUnderACPUQuota' ./cmd/braid/
	./bin/braid-loadgen fairness --braid $(BIN) --config bench/fairness-cpu.yaml --cpu-quota 0.25 --duration 20s --json .tmp/fairness.json

faults: build loadgen ## fault harness: the shipped gateway and agent through kill -9, a 60 s backend outage, a full disk and a corrupt queue file; fails on any acknowledged item lost (needs root for the tmpfs)
	@mkdir -p .tmp
	./bin/braid-loadgen faults --braid $(BIN) --json .tmp/faults.json $(FAULTS_FLAGS)

# The zero-trust tests: real braid processes (shipped agent and gateway)
# handshaking mTLS on loopback with certificates made in the test, tokens on
# every endpoint, tenants from identity, the Kubernetes components rendered.
ZEROTRUST_TESTS := MTLS|Plaintext|LeastPrivilege|RBAC|DecodeStrictly|ZeroTrust|Rotated|EndpointsRefuse|AdminEndpoint|AdminToken|ValidateNever|NeverLogs|AuthOverlays|CertManager|TokenAuth|Tenants

zerotrust: ## mTLS agent → gateway, tokens on every endpoint, tenants from identity: the process and manifest tests (about 2 minutes)
	$(GO) test -count=1 -run '$(ZEROTRUST_TESTS)' ./cmd/braid/ ./receivers/lokireceiver/

# The Kubernetes tests: a real etcd and kube-apiserver (RBAC on, ServiceAccount
# tokens) per test, started on loopback by internal/kubeapi; kubectl and helm
# render the manifests and the chart. deploy/local/kube.sh builds all four from
# source once into .tmp/local/bin.
KUBE_TESTS := APIServer|Helm|Kubernetes

kube: ## the manifests and the Helm chart applied to a real API server, the chart held to Kustomize, the pod cache under the shipped RBAC, an API server restart and a 410 Gone (builds the control plane once: about 10 minutes cold, then about 80 s)
	deploy/local/kube.sh test -v -run '$(KUBE_TESTS)'

drill-fleet: build ## three real gateways, each with part of a trace: any one answers for all, and one killed makes the answers partial
	BRAID_BIN=$(abspath $(BIN)) $(GO) test ./internal/drillfleet/ -count=1 -v

clean: ## remove build output and local state
	rm -rf bin .tmp

.PHONY: demo e2e stack-up stack-down

demo: build ## local stack (Prometheus, Jaeger, VictoriaLogs, Braid) and the demo workload; prints where to look
	deploy/local/stack.sh demo

e2e: build loadgen ## end-to-end tests against the real backends on loopback (the Kafka tier on braid-loadgen's broker), then a clean stop
	deploy/local/stack.sh e2e

stack-up: build ## start the local stack in the background
	deploy/local/stack.sh up

stack-down: ## stop what stack-up or demo started
	deploy/local/stack.sh down
