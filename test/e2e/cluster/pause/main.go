// The e2e node's sandbox ("pause") image: holds a pod's namespaces and does nothing
// else until it is told to stop. Built here because there is no registry to pull one
// from. (Pods here do not share their process namespace, so it has nothing to reap.)
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
}
