package apps

import (
	"context"
	"io"
	"net"
	"sync"
)

// ServeTCPEcho serves a TCP echo on ln until ln is closed or ctx ends (which closes ln): each
// connection is greeted with name+"\n", so that the client learns which real server it
// reached, and then gets back every byte it sends (so every line, unchanged). When it stops,
// it closes the connections it still has, as a stopped server's would be, and waits for
// them before returning nil; any other accept error is returned.
func ServeTCPEcho(ctx context.Context, ln net.Listener, name string) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var (
		mu     sync.Mutex
		conns  = make(map[net.Conn]struct{})
		active sync.WaitGroup
	)
	defer func() {
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		active.Wait()
	}()

	greeting := []byte(name + "\n")
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || closedListener(err) {
				return nil
			}
			return err
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		active.Add(1)
		go func() {
			defer active.Done()
			if _, err := c.Write(greeting); err == nil {
				io.Copy(c, c)
			}
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}()
	}
}

// ServeUDPEcho answers each datagram received on pc with name+" "+payload, to its sender,
// until pc is closed or ctx ends (which closes pc); then it returns nil. Any other read
// error is returned.
func ServeUDPEcho(ctx context.Context, pc net.PacketConn, name string) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()

	buf := make([]byte, 64<<10)
	reply := append(make([]byte, 0, len(name)+1+len(buf)), name+" "...)
	prefix := len(reply)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || closedListener(err) {
				return nil
			}
			return err
		}
		reply = append(reply[:prefix], buf[:n]...)
		// A reply that cannot be sent is a lost datagram, as on any network: the client
		// counts it as a timeout. It is no reason to stop serving the others.
		pc.WriteTo(reply, from)
	}
}
