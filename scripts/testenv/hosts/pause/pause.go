// pause holds a pod's namespaces open, as Kubernetes' own pause image does: it sleeps until
// SIGINT or SIGTERM and, being PID 1 of the pod, reaps any orphaned process reparented to it.
// Built here (static, CGO off) because no registry is reachable from the test world.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for received := range signals {
		if received != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
