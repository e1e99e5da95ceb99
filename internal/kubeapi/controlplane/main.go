// Command controlplane runs the test control plane of package kubeapi (etcd
// and kube-apiserver on loopback, RBAC on) for a person to try Braid's
// manifests and chart against: deploy/local/kube.sh up starts it and down
// stops it. It writes an admin kubeconfig into -dir and runs until SIGINT or
// SIGTERM, then stops both servers.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/braidobs/braid/internal/kubeapi"
)

func main() {
	dir := flag.String("dir", ".tmp/kube", "where etcd's data, the certificates, the logs and the kubeconfig go")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cp, err := kubeapi.New(dir)
	if err != nil {
		return err
	}
	defer cp.Close()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := kubeapi.SaveKubeconfig(cp.Admin, kubeconfig); err != nil {
		return err
	}
	fmt.Printf("kube-apiserver at %s (RBAC on); admin: KUBECONFIG=%s\n", cp.APIServer.URL, kubeconfig)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	return nil
}
