// anchor: herald's performance anchor. A notification controller wired the way
// Argo CD's own notification controller is (argo-cd v3.3 cmd/argocd-notification and
// notification_controller), on github.com/argoproj/notifications-engine v0.5.0, plus
// the few things bench/engine needs to measure it (docs/performance.md, "The anchor").
//
//	anchor controller --kubeconfig FILE [--namespace argocd] [--processors-count 1]
//	                  [--kube-qps 0] [--kube-burst 0] [--metrics-port 0] [--loglevel info]
//	anchor ledger --configmap cm.json [--namespace argocd] < apps.jsonl > annotations.jsonl
//	anchor render --configmap cm.json [--secret secret.json] [--recipient R] < app.json
//
// It is built and cached by bench/lib/anchor.ts (make anchor); it is no part of herald.
package main

import (
	"fmt"
	"os"
	_ "time/tzdata" // the templates show Asia/Shanghai time on any machine
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: anchor controller|ledger|render [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "controller":
		err = runController(os.Args[2:])
	case "ledger":
		err = runLedger(os.Args[2:])
	case "render":
		err = runRender(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (controller, ledger, render)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "anchor:", err)
		os.Exit(1)
	}
}
