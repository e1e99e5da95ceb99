#!/usr/bin/env bash
# A Kubernetes control plane for Braid's tests, on loopback and without
# Docker: etcd and kube-apiserver (RBAC on, ServiceAccount tokens issued),
# with kubectl and helm beside them, each built from source once into
# KUBE_BIN (.tmp/local/bin) and rebuilt only when its tools module changes.
#
#   kube.sh install   build etcd, kube-apiserver, kubectl and helm (about 10 minutes cold, nothing warm)
#   kube.sh test      install, then run the tests that need them (make kube)
#   kube.sh up        install, then start a control plane in the background
#                     and print the KUBECONFIG to use with kubectl and helm
#   kube.sh down      stop it
#
# The tests start their own control plane (internal/kubeapi): fresh etcd data
# and certificates under the test's temporary directory, ports picked free on
# 127.0.0.1, everything stopped when the test ends. up runs the same one
# (internal/kubeapi/controlplane) with its state in .tmp/kube, made afresh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS=$ROOT/deploy/local/tools
KUBE_BIN=${KUBE_BIN:-$ROOT/.tmp/local/bin}

say() { printf 'kube: %s\n' "$*" >&2; }

# stale OUT FILES...: true when OUT is missing or older than any of FILES.
stale() {
	local out=$1 f
	shift
	[[ -x $out ]] || return 0
	for f in "$@"; do [[ $f -nt $out ]] && return 0; done
	return 1
}

# build NAME MODULE PACKAGE: go build PACKAGE of tools module MODULE into KUBE_BIN/NAME.
build() {
	local name=$1 module=$TOOLS/$2 pkg=$3
	if stale "$KUBE_BIN/$name" "$module/go.mod" "$module/go.sum"; then
		say "building $name ($pkg)"
		local start=$SECONDS
		(cd "$module" && go build -trimpath -ldflags='-s -w' -o "$KUBE_BIN/$name" "$pkg")
		say "built $name in $((SECONDS - start))s"
	fi
}

install() {
	mkdir -p "$KUBE_BIN"
	build etcd kube go.etcd.io/etcd/server/v3
	build kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver
	build kubectl kube k8s.io/kubernetes/cmd/kubectl
	build helm helm helm.sh/helm/v4/cmd/helm
}

STATE=$ROOT/.tmp/kube

up() {
	install
	down 2>/dev/null || true
	rm -rf "$STATE"
	mkdir -p "$STATE"
	cd "$ROOT"
	go build -o "$KUBE_BIN/braid-controlplane" ./internal/kubeapi/controlplane
	BRAID_KUBE_BIN=$KUBE_BIN nohup "$KUBE_BIN/braid-controlplane" -dir "$STATE" >"$STATE/controlplane.log" 2>&1 &
	echo $! >"$STATE/pid"
	local i
	for i in $(seq 120); do
		if [[ -s $STATE/kubeconfig ]]; then
			say "up: $(cat "$STATE/controlplane.log")"
			say "try: export KUBECONFIG=$STATE/kubeconfig PATH=$KUBE_BIN:\$PATH; kubectl apply --server-side -k deploy/kubernetes"
			return 0
		fi
		kill -0 "$(cat "$STATE/pid")" 2>/dev/null || break
		sleep 0.5
	done
	say "the control plane did not start:"
	cat "$STATE/controlplane.log" >&2
	return 1
}

down() {
	[[ -f $STATE/pid ]] || { say "not running"; return 0; }
	local pid
	pid=$(cat "$STATE/pid")
	if kill "$pid" 2>/dev/null; then
		while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
		say "stopped"
	fi
	rm -f "$STATE/pid"
}

case ${1:-} in
install) install ;;
up) up ;;
down) down ;;
test)
	install
	shift
	cd "$ROOT"
	export BRAID_KUBE_BIN=$KUBE_BIN PATH=$KUBE_BIN:$PATH
	exec go test -count=1 -tags kubeapi "$@" ./kube/ ./cmd/braid/
	;;
*)
	sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
