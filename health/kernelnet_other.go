//go:build !linux

package health

import (
	"context"
	"errors"
	"net/netip"
)

func kernelPing(context.Context, netip.Addr, netip.Addr) error {
	return errors.New("health: KernelNet pings on Linux only")
}
