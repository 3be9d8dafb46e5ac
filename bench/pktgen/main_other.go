//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "pktgen: AF_PACKET is Linux only")
	os.Exit(1)
}
