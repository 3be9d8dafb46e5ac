package netstack

import (
	"testing"
	"time"
)

func TestTokenBucketLimitsRateWithBurst(t *testing.T) {
	b := tokenBucket{rate: 10, burst: 10}
	now := int64(time.Hour)
	sent := 0
	for range 100 { // a burst at one instant: the bucket starts full
		if b.allow(now) {
			sent++
		}
	}
	if sent != 10 {
		t.Errorf("%d allowed in a burst, want 10", sent)
	}
	sent = 0
	for i := range 1000 { // 10 s at 100 events/s: 10 per second get through
		if b.allow(now + int64(i+1)*int64(10*time.Millisecond)) {
			sent++
		}
	}
	if sent < 99 || sent > 101 {
		t.Errorf("%d allowed over 10 s, want about 100", sent)
	}
	if b.allow(now - int64(time.Minute)) {
		t.Error("a clock going back refilled the bucket")
	}
}
