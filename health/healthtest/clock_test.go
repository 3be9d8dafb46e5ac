package healthtest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/uvs-lb/uvs/health"
	"github.com/uvs-lb/uvs/health/healthtest"
	"github.com/uvs-lb/uvs/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestClockOrder(t *testing.T) {
	c := healthtest.NewClock(t0)
	var got []string
	at := func(name string) func() {
		return func() { got = append(got, name+"@"+c.Now().Sub(t0).String()) }
	}
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(time.Second, at("a"))
	c.AfterFunc(time.Second, at("a2")) // same time: in creation order
	stopped := c.AfterFunc(2*time.Second, at("stopped"))
	c.AfterFunc(2*time.Second, func() {
		at("b")()
		c.AfterFunc(500*time.Millisecond, at("b+")) // set by a timer, due within the Advance
		c.AfterFunc(0, at("b0"))
	})
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop of a pending timer, then again")
	}
	if c.Pending() != 4 {
		t.Fatalf("%d pending", c.Pending())
	}
	if next, ok := c.Next(); !ok || !next.Equal(t0.Add(time.Second)) {
		t.Fatalf("Next %v %v", next, ok)
	}
	settles := 0
	c.Settle = func() { settles++ }
	c.Advance(2500 * time.Millisecond)
	want := []string{"a@1s", "a2@1s", "b@2s", "b0@2s", "b+@2.5s"}
	if !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if !c.Now().Equal(t0.Add(2500*time.Millisecond)) || c.Pending() != 1 || settles != 6 {
		t.Fatalf("now %v, %d pending, %d settles", c.Now(), c.Pending(), settles)
	}
	c.AdvanceTo(t0) // never back
	if !c.Now().Equal(t0.Add(2500 * time.Millisecond)) {
		t.Fatal("AdvanceTo went back")
	}
	c.Advance(time.Hour)
	if got[len(got)-1] != "c@3s" || c.Pending() != 0 {
		t.Fatalf("fired %v", got)
	}
}

func TestChecker(t *testing.T) {
	clk := healthtest.NewClock(t0)
	c := healthtest.NewChecker("TEST", clk, health.Result{OK: true, Weight: 3})
	entered := c.Entered()
	if r := c.Check(context.Background(), nil); !r.OK || r.Weight != 3 {
		t.Fatalf("%+v", r)
	}
	<-entered
	c.Hang()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan health.Result)
	go func() { done <- c.Check(ctx, nil) }()
	<-entered
	cancel()
	if r := <-done; r.OK || r.Reason != "timeout" {
		t.Fatalf("%+v", r)
	}
	c.Set(health.Result{Weight: -1, Reason: "refused"})
	if r := c.Check(context.Background(), nil); r.OK || r.Reason != "refused" {
		t.Fatalf("%+v", r)
	}
	if n := len(c.Calls()); n != 3 || c.String() != "TEST" {
		t.Fatalf("%d calls, %s", n, c)
	}
}
