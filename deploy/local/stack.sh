#!/usr/bin/env bash
# Braid's local stack, on loopback and without Docker: Prometheus (Debian's
# package), Jaeger v2 (in-memory) and VictoriaLogs (behind Loki's push API),
# each built or installed once, then Braid on deploy/configs/stack.yaml.
#
#   stack.sh install        install Prometheus, build Jaeger, VictoriaLogs, the demo
#   stack.sh up             install, then start everything on fresh data and wait until healthy
#   stack.sh down           stop everything this script started (by PID)
#   stack.sh start NAME     start one of prometheus|jaeger|victoria-logs|braid (data kept)
#   stack.sh stop NAME      stop one of them
#   stack.sh kill NAME      kill one of them with SIGKILL, as an OOM kill or an eviction would
#   stack.sh status         what runs, and where
#   stack.sh demo           up, run the demo workload, print where to look; stop all on exit
#   stack.sh e2e            up, run the end-to-end tests, stop all on exit
#
# Ports (loopback only; never Braid's 4317, 4318, 8888, 8889, 8890, 13133):
#   PROMETHEUS_PORT (9090), JAEGER_OTLP_GRPC_PORT (14317), JAEGER_OTLP_HTTP_PORT (14318),
#   JAEGER_QUERY_PORT (16686), JAEGER_QUERY_GRPC_PORT (16685), JAEGER_HEALTH_PORT (13233),
#   VLOGS_PORT (9428), DEMO_FRONTEND_PORT (18080), DEMO_PAYMENT_PORT (18081).
# State (binaries, data, logs, PID files) lives under STACK_DIR (.tmp/local).
# BRAID_BIN (bin/braid) and BRAID_CONFIG (deploy/configs/stack.yaml) pick what runs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL=$ROOT/deploy/local
STACK_DIR=${STACK_DIR:-$ROOT/.tmp/local}
BIN=$STACK_DIR/bin
RUN=$STACK_DIR/run
LOGS=$STACK_DIR/log
DATA=$STACK_DIR/data
BRAID=${BRAID_BIN:-$ROOT/bin/braid}
BRAID_CONFIG=${BRAID_CONFIG:-$ROOT/deploy/configs/stack.yaml}

export PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
export JAEGER_OTLP_GRPC_PORT=${JAEGER_OTLP_GRPC_PORT:-14317}
export JAEGER_OTLP_HTTP_PORT=${JAEGER_OTLP_HTTP_PORT:-14318}
export JAEGER_QUERY_PORT=${JAEGER_QUERY_PORT:-16686}
export JAEGER_QUERY_GRPC_PORT=${JAEGER_QUERY_GRPC_PORT:-16685}
export JAEGER_HEALTH_PORT=${JAEGER_HEALTH_PORT:-13233}
export VLOGS_PORT=${VLOGS_PORT:-9428}
export DEMO_FRONTEND_PORT=${DEMO_FRONTEND_PORT:-18080}
export DEMO_PAYMENT_PORT=${DEMO_PAYMENT_PORT:-18081}

# Braid's side of the wiring (deploy/configs/stack.yaml reads these).
export BRAID_PROMETHEUS_REMOTE_WRITE_URL=http://127.0.0.1:$PROMETHEUS_PORT/api/v1/write
export BRAID_JAEGER_OTLP_ENDPOINT=127.0.0.1:$JAEGER_OTLP_GRPC_PORT
# disable_message_parsing: keep each line as it came, as Loki does (VictoriaLogs
# would otherwise unpack JSON lines into fields).
export BRAID_LOKI_ENDPOINT="http://127.0.0.1:$VLOGS_PORT/insert/loki/api/v1/push?disable_message_parsing=1"
export BRAID_JAEGER_QUERY_URL=http://127.0.0.1:$JAEGER_QUERY_PORT
export BRAID_LOG_DIR=$DATA/pods
export BRAID_STORAGE_DIR=$DATA/braid
export BRAID_SPAN_METRICS_FLUSH_INTERVAL=${BRAID_SPAN_METRICS_FLUSH_INTERVAL:-5s}
BRAID_HEALTH=${BRAID_HEALTH_ENDPOINT:-127.0.0.1:13133}
BRAID_TELEMETRY=127.0.0.1:${BRAID_TELEMETRY_PORT:-8888}

# Everything the tests and the demo need to find the stack.
export PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT
export JAEGER_URL=http://127.0.0.1:$JAEGER_QUERY_PORT
export VLOGS_URL=http://127.0.0.1:$VLOGS_PORT
export BRAID_OTLP_HTTP_URL=http://${BRAID_OTLP_HTTP_ENDPOINT:-127.0.0.1:4318}
export BRAID_TELEMETRY_URL=http://$BRAID_TELEMETRY
export STACK_SH=$LOCAL/stack.sh

NAMES=(prometheus jaeger victoria-logs braid)

say() { printf 'stack: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

check_ports() {
	local p
	for p in "$PROMETHEUS_PORT" "$JAEGER_OTLP_GRPC_PORT" "$JAEGER_OTLP_HTTP_PORT" "$JAEGER_QUERY_PORT" \
		"$JAEGER_QUERY_GRPC_PORT" "$JAEGER_HEALTH_PORT" "$VLOGS_PORT" "$DEMO_FRONTEND_PORT" "$DEMO_PAYMENT_PORT"; do
		case $p in 4317 | 4318 | 8888 | 8889 | 8890 | 13133) die "port $p belongs to Braid; pick another" ;; esac
	done
}

# stale OUT FILES...: true when OUT is missing or older than any of FILES.
stale() {
	local out=$1 f
	shift
	[[ -x $out ]] || return 0
	for f in "$@"; do [[ $f -nt $out ]] && return 0; done
	return 1
}

install() {
	mkdir -p "$BIN"
	if ! command -v prometheus >/dev/null; then
		say "installing prometheus (Debian package)"
		local sudo=
		[[ $(id -u) == 0 ]] || sudo=sudo
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
	fi
	if stale "$BIN/jaeger" "$LOCAL/tools/jaeger/go.mod"; then
		say "building jaeger (a few minutes the first time)"
		(cd "$LOCAL/tools/jaeger" && go build -trimpath -ldflags='-s -w' -o "$BIN/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger)
	fi
	if stale "$BIN/victoria-logs" "$LOCAL/tools/victorialogs/go.mod"; then
		say "building victoria-logs"
		(cd "$LOCAL/tools/victorialogs" && go build -trimpath -ldflags='-s -w' -o "$BIN/victoria-logs" github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs)
	fi
	# The demo is small: go build is a no-op when nothing changed.
	(cd "$LOCAL/demo" && go build -o "$BIN/braid-demo" .)
	[[ -x $BRAID ]] || (cd "$ROOT" && make build BIN="$BRAID")
}

pidfile() { echo "$RUN/$1.pid"; }

# running NAME: its PID file names a live process that is still ours (the
# command line names our binary or state directory), so that a PID reused
# after a crash is never signalled.
running() {
	local f pid marker=$STACK_DIR
	f=$(pidfile "$1")
	[[ -f $f ]] || return 1
	pid=$(cat "$f")
	kill -0 "$pid" 2>/dev/null || return 1
	[[ $1 == braid ]] && marker=$BRAID
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# spawn NAME CMD...: start CMD in the background, output to its log, PID to its file.
spawn() {
	local name=$1
	shift
	mkdir -p "$RUN" "$LOGS"
	if running "$name"; then
		say "$name already running (pid $(cat "$(pidfile "$name")"))"
		return
	fi
	echo "=== $(date -u +%FT%TZ) start" >>"$LOGS/$name.log"
	nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$(pidfile "$name")"
}

# wait_ready NAME URL: poll URL until it answers 2xx, for at most READY_TIMEOUT seconds.
wait_ready() {
	local name=$1 url=$2 deadline=$((SECONDS + ${READY_TIMEOUT:-60}))
	local pid
	pid=$(cat "$(pidfile "$name")")
	while ((SECONDS < deadline)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$LOGS/$name.log" >&2 || true
			die "$name exited during start (log: $LOGS/$name.log)"
		fi
		if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
			say "$name ready ($url)"
			return
		fi
		sleep 0.5
	done
	tail -n 30 "$LOGS/$name.log" >&2 || true
	die "$name not ready at $url after ${READY_TIMEOUT:-60}s (log: $LOGS/$name.log)"
}

prometheus_config() {
	local rules=$ROOT/deploy/grafana/prometheus/braid-rules.yaml
	cat >"$STACK_DIR/prometheus.yml" <<EOF
# Generated by deploy/local/stack.sh. Span metrics arrive by remote write;
# Braid's own metrics are scraped; Braid's generated rules are loaded (so a
# rule Prometheus refuses stops the stack from starting).
global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: braid
    static_configs:
      - targets: ['$BRAID_TELEMETRY']
EOF
	if [[ -f $rules ]]; then
		printf 'rule_files:\n  - %s\n' "$rules" >>"$STACK_DIR/prometheus.yml"
	else
		say "warning: $rules not found; Prometheus runs without Braid's rules"
	fi
}

start_one() {
	case $1 in
	prometheus)
		prometheus_config
		mkdir -p "$DATA/prometheus"
		spawn prometheus prometheus \
			--config.file="$STACK_DIR/prometheus.yml" \
			--storage.tsdb.path="$DATA/prometheus" \
			--web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
			--web.enable-remote-write-receiver \
			--enable-feature=exemplar-storage \
			--web.enable-lifecycle
		wait_ready prometheus "$PROMETHEUS_URL/-/ready"
		;;
	jaeger)
		spawn jaeger "$BIN/jaeger" --config "$LOCAL/jaeger.yaml"
		wait_ready jaeger "http://127.0.0.1:$JAEGER_HEALTH_PORT/status"
		;;
	victoria-logs)
		mkdir -p "$DATA/victoria-logs"
		spawn victoria-logs "$BIN/victoria-logs" \
			-httpListenAddr="127.0.0.1:$VLOGS_PORT" \
			-storageDataPath="$DATA/victoria-logs" \
			-retentionPeriod=7d
		wait_ready victoria-logs "$VLOGS_URL/health"
		;;
	braid)
		mkdir -p "$BRAID_LOG_DIR" "$BRAID_STORAGE_DIR"
		spawn braid "$BRAID" --config "$BRAID_CONFIG"
		wait_ready braid "http://$BRAID_HEALTH/"
		;;
	*) die "unknown component $1 (one of: ${NAMES[*]})" ;;
	esac
}

# stop_one NAME [SIGNAL]: sends SIGTERM (the default) or SIGKILL, waits up to
# 20s for the process to go, and kills what ignored SIGTERM.
stop_one() {
	local name=$1 sig=${2:-TERM} f pid i
	f=$(pidfile "$name")
	[[ -f $f ]] || return 0
	pid=$(cat "$f")
	if running "$name"; then
		kill -"$sig" "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "$name (pid $pid) ignored SIG$sig for 20s; killing"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		say "$name stopped with SIG$sig (pid $pid)"
	fi
	rm -f "$f"
}

down() {
	stop_one demo
	# Braid first, so that it flushes to backends that are still there.
	stop_one braid
	stop_one victoria-logs
	stop_one jaeger
	stop_one prometheus
}

# not_running: refuse to start over a running stack (before any trap that
# would stop it).
not_running() {
	local n
	for n in "${NAMES[@]}" demo; do
		if running "$n"; then die "$n is already running: run '$0 down' first"; fi
	done
}

up() {
	check_ports
	install
	local n
	rm -rf "$DATA"
	mkdir -p "$DATA"
	for n in "${NAMES[@]}"; do start_one "$n"; done
}

status() {
	local n
	for n in "${NAMES[@]}" demo; do
		if running "$n"; then echo "$n: running (pid $(cat "$(pidfile "$n")"))"; else echo "$n: stopped"; fi
	done
	cat <<EOF
Prometheus  $PROMETHEUS_URL
Jaeger      $JAEGER_URL  (API: /api/traces/<id>)
Logs        $VLOGS_URL   (LogsQL: /select/logsql/query?query=trace_id:<id>)
Braid       OTLP ${BRAID_OTLP_HTTP_URL}, health http://$BRAID_HEALTH/
State       $STACK_DIR (logs in $LOGS)
EOF
}

demo() {
	not_running
	trap down EXIT
	trap 'exit 130' INT TERM
	up
	spawn demo "$BIN/braid-demo" -duration "${DEMO_DURATION:-10m}" -log-dir "$BRAID_LOG_DIR" \
		-otlp "$BRAID_OTLP_HTTP_URL" -frontend-port "$DEMO_FRONTEND_PORT" -payment-port "$DEMO_PAYMENT_PORT" \
		-print-links "$STACK_DIR/demo-links.txt"
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $STACK_DIR/demo-links.txt ]] && break
		running demo || break
		sleep 0.3
	done
	status
	cat "$STACK_DIR/demo-links.txt" 2>/dev/null || true
	cat <<EOF

Grafana files (dashboards, datasources, alert rules): $ROOT/deploy/grafana/
Drill down from the CLI:   $BRAID drill --help
The workload runs for ${DEMO_DURATION:-10m} (DEMO_DURATION); Ctrl-C stops it and the whole stack.
EOF
	while running demo; do sleep 1; done
	say "demo workload finished; stopping the stack"
}

e2e() {
	not_running
	trap down EXIT
	trap 'exit 130' INT TERM
	up
	(cd "$LOCAL/demo" && go test -tags e2e -count=1 -timeout "${E2E_TIMEOUT:-20m}" -v ./e2e/)
}

cmd=${1:-}
case $cmd in
install) install ;;
up)
	not_running
	# A half-started stack is stopped again.
	trap 'rc=$?; ((rc == 0)) || down; exit $rc' EXIT
	up
	status
	;;
down) down ;;
start) start_one "${2:?name}" ;;
stop) stop_one "${2:?name}" ;;
kill) stop_one "${2:?name}" KILL ;;
status) status ;;
demo) demo ;;
e2e) e2e ;;
*) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
