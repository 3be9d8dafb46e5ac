package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestDemoReport(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "-duration", "6s", "-rate", "100"}, &out, &errb); code != 0 {
		t.Fatalf("demo exited %d: %s", code, errb.String())
	}
	report := out.String()
	t.Log("\n" + report)
	// The windows while rs2 is out of the service (the middle third) give it no connection;
	// before and after, every server gets some.
	rows := regexp.MustCompile(`(?m)^\s*(\d+)-(\d+)s\s+(\d+)\s+(\d+)\s+(\d+)\s*$`).FindAllStringSubmatch(report, -1)
	if len(rows) != 6 {
		t.Fatalf("want 6 window rows, got %d", len(rows))
	}
	for i, r := range rows {
		rs2, _ := strconv.Atoi(r[4])
		rs1, _ := strconv.Atoi(r[3])
		rs3, _ := strconv.Atoi(r[5])
		failed := i == 2 || i == 3
		if failed && rs2 != 0 {
			t.Errorf("window %s-%ss: rs2 got %d connections while it was out", r[1], r[2], rs2)
		}
		if !failed && rs2 == 0 {
			t.Errorf("window %s-%ss: rs2 got nothing while in the service", r[1], r[2])
		}
		if rs1 == 0 || rs3 == 0 {
			t.Errorf("window %s-%ss: a healthy server got nothing", r[1], r[2])
		}
	}
	if !strings.Contains(report, "rejected, ") || !regexp.MustCompile(`no_dest [1-9]`).MatchString(report) {
		t.Errorf("expire_nodest_conn drops not reported:\n%s", report)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
