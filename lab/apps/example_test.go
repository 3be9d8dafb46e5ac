package apps_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/uvs-lb/uvs/lab/apps"
)

// A real server's HTTP service and a client's load against it, as the lab runs them on its
// hosts (there with netstack.Host's ListenTCP and DialContext).
func Example() {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	rs1 := &apps.HTTPServer{Name: "rs1", Latency: time.Millisecond}
	served := make(chan error, 1)
	go func() { served <- rs1.Serve(ctx, ln) }()

	rec := apps.NewRecorder(time.Now(), time.Second)
	run, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	load := &apps.HTTPLoad{Target: ln.Addr().String(), Rate: 100, KeepAlive: true}
	if err := load.Run(run, &net.Dialer{}, rec); err != nil {
		panic(err)
	}
	ln.Close() // stops the server
	<-served

	s := rec.Summary()
	fmt.Printf("%d requests, %d errors %v, p50 %v p99 %v\n", s.Requests, s.Errors, s.ErrorKinds, s.P50, s.P99)
	for name, n := range s.PerServer {
		fmt.Printf("%s: %.0f%%\n", name, 100*float64(n)/float64(s.Requests))
	}
}
