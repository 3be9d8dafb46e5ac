# uvs — the two commands: `make demo` and `make test`. See README.md.
GO      ?= go
PKGS    := ./...
# Debian packages the tests need when run as root (CI): iproute2 for the namespaces and
# veths the privileged tests build, nginx-light and curl as real servers and client, tshark
# to read the lab's pcaps, keepalived as the VRRP peer of the interoperability tests,
# chromium-headless-shell to load the status page as a browser does, qemu-system-x86 and
# ovmf to boot the VM image (BIOS-less kernel boot and EFI).
TEST_APT_PKGS ?= iproute2 nginx-light curl tshark keepalived chromium-headless-shell qemu-system-x86 ovmf
# What `make image` needs beside Go (deps installs these too, so the image tests can build it):
# systemd's EFI stub and objcopy for the unified kernel image, mtools for the EFI partition.
IMAGE_APT_PKGS ?= systemd-boot-efi binutils mtools
# How much each fuzz target runs inside `make test`: a count of executions, not a duration.
# Go 1.26's fuzz coordinator can fail a target with a spurious "context deadline exceeded"
# when a duration -fuzztime expires while a worker is busy (golang/go#75804, fixed in Go
# 1.27); a count has no deadline to race. 300000x is 3-20 s a target on a 2-core machine.
# `make fuzz` runs each target for a duration (FUZZTIME=5m); a bare deadline error there is
# that bug, a real finding writes testdata/fuzz/<target>/<file> and says so.
FUZZTIME ?= 300000x
# The targets whose one execution is a whole run of something get fewer, to stay within ~15 s
# each too: an HTTP request to a real appliance (control) a third; an importer converting a
# whole file and rendering its TOML (conf/convert: keepalived.conf seeds are kilobytes) a tenth.
FUZZTIME_SLOW ?= 100000x
FUZZTIME_CONVERT ?= 30000x
FUZZMINTIME ?= 2000x

.PHONY: all build image image-deps demo test deps vet fmt-check unit race fuzz-smoke fuzz bench bench-quick bench-synflood soak clean

all: build

# Without cgo: a static binary, and one that can keep CAP_SETUID/CAP_SETGID on every thread
# when [run] drops privileges and a script runs as another user (docs/config.md, [run]).
build:
	CGO_ENABLED=0 $(GO) build -o bin/uvs ./cmd/uvs

# The lab's demo topology: clients → VIP → appliance → three real servers, one failing mid-run;
# the report is printed and the picture written to demo.svg.
demo: build
	./bin/uvs lab run examples/lab/demo.toml --svg demo.svg

# The VM appliance (docs/image.md): a kernel from the Go module proxy (gokrazy's kernel.amd64),
# an initramfs with a static uvs as /init, a unified kernel image and a bootable GPT disk, in
# $(IMAGE_OUT). CONFIG=file.toml bakes a configuration in; SOURCE_DATE_EPOCH (default: the last
# commit's time) dates every file, so the same inputs give the same bytes.
IMAGE_OUT ?= out/image
KERNEL_VERSION ?=
CONFIG ?=
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
image: image-deps
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/uvs-static ./cmd/uvs
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./image/cmd/uvs-image -uvs bin/uvs-static -o $(IMAGE_OUT) \
		$(if $(CONFIG),-config $(CONFIG)) $(if $(KERNEL_VERSION),-kernel-version $(KERNEL_VERSION))

image-deps:
	@$(MAKE) --no-print-directory deps TEST_APT_PKGS=

deps:
	@missing=""; for p in $(TEST_APT_PKGS) $(IMAGE_APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
		else echo "not root: tests that need$$missing will skip"; fi; \
	fi

test: deps vet fmt-check unit race fuzz-smoke

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# One package at a time: the lab's scenarios and the load clients keep real-time schedules on
# a 2-core machine, and must not compete with another package's tests for the CPU.
unit:
	$(GO) test -count=1 -p 1 $(PKGS)

# The data plane under the race detector.
race:
	$(GO) test -race -count=1 ./packet/... ./lb/... ./nat/... ./dr/ ./tunnel/ ./netstack/

# Each fuzz target briefly, so CI catches regressions in the parsers and table builders.
fuzz-smoke:
	@for t in $$($(GO) test -list '^Fuzz' ./packet/ | grep ^Fuzz); do \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) ./packet/ || exit 1; done
	@for p in ./lb/sched/ ./nat/ ./tunnel/ ./conf/ ./vrrp/ ./connsync/ ./netstack/afpacket/; do for t in $$($(GO) test -list '^Fuzz' $$p | grep ^Fuzz); do \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$p || exit 1; done; done
	@for pn in ./adm/:$(FUZZTIME) ./health/:$(FUZZTIME) ./conf/convert/:$(FUZZTIME_CONVERT) ./control/:$(FUZZTIME_SLOW); do \
		p=$${pn%%:*}; n=$${pn#*:}; for t in $$($(GO) test -list '^Fuzz' $$p | grep ^Fuzz); do \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $$n -fuzzminimizetime $(FUZZMINTIME) $$p || exit 1; done; done

fuzz:
	$(MAKE) fuzz-smoke FUZZTIME=5m FUZZTIME_SLOW=5m FUZZTIME_CONVERT=5m

# Go benchmarks of the hot path (ns/packet, allocations, B/conn; BENCHTIME to lengthen), then
# the side-by-side run on network namespaces, as root: uvs vs nftables DNAT vs HAProxy, a
# markdown table with ratios (bench/run.sh; DUR, RUNS, MODES, LOADS; docs/bench.md). About 9 min with the DR and TUN modes.
BENCHTIME ?= 1s
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./packet/ ./lb/... ./nat/ | tee bench.txt
	@if [ "$$(id -u)" = 0 ]; then bench/run.sh; \
	else echo "not root: the side-by-side run (bench/run.sh) needs root; skipped"; fi

# The side-by-side run alone, 2 s per measurement: a smoke test of the harness (~4 min, root).
bench-quick:
	DUR=2 bench/run.sh

# Established TCP goodput during a spoofed SYN flood at each lb's saturating SYN rate (issue 11),
# nft vs HAProxy vs uvs; not in `make bench` (~3 min, root; docs/bench.md, docs/hardening.md).
# UVS_IPVS sets uvs's flood defenses, e.g. "size = 65536; drop_entry = 1".
bench-synflood:
	MODES="nft haproxy uvs" LOADS=tcp-synflood bench/run.sh

# The soak (issue 11; not part of `make test`): the lab's fault scenarios (examples/lab/faults),
# mixed traffic under each fault, in turn for SOAK_DURATION; the heap, the RSS and the
# goroutines sampled after each run must stay flat after the first round (a results table;
# docs/hardening.md). About 10 minutes.
SOAK_DURATION ?= 9m
soak:
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags soak -run '^TestSoak$$' -count=1 -v -timeout 30m ./lab/

clean:
	rm -rf bin out bench.txt demo.svg
