# streamctl — one binary: a Kafka-protocol broker and the CLI that drives it.
# Every target uses the Bun that `npm ci` pins in node_modules, never a global one.

BUN      := node_modules/.bin/bun
TSC      := node_modules/.bin/tsc
BIN      := bin/streamctl
MAN      := bin/streamctl.1
SOURCES  := $(shell find cmd core net -name '*.ts' -o -name '*.tsx' | grep -v -e '\.test\.ts' -e '/testing/')

.PHONY: build man test run cluster bench soak gen typecheck clean

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(BIN): node_modules/.installed $(SOURCES)
	@mkdir -p bin
	$(BUN) run scripts/build.ts $(BIN)

# The man page is generated from the command definitions and installed beside the binary.
$(MAN): node_modules/.installed $(SOURCES) scripts/man.ts
	@mkdir -p bin
	$(BUN) run scripts/man.ts $(MAN)

build: $(BIN) $(MAN)

man: $(MAN)

typecheck: node_modules/.installed
	$(TSC) -p tsconfig.json

# Unit tests run in-process; integration tests start $(BIN) as a child on port 0.
test: build typecheck
	STREAMCTL_BIN=$(CURDIR)/$(BIN) $(BUN) test --timeout 60000

run: build
	$(BIN) serve

# One etcd and three brokers on 127.0.0.1 (Kafka 9092-9094, HTTP 8092-8094), data under
# ${XDG_DATA_HOME:-~/.local/share}/streamctl-cluster; Ctrl-C stops them all (scripts/cluster.ts).
# Installs Debian's etcd-server first if etcd is missing. CLUSTER_ARGS passes options (listed in
# the script's header), e.g. make cluster CLUSTER_ARGS="--etcd-port 12379".
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
cluster: build
	@command -v etcd >/dev/null 2>&1 || { echo "make cluster: etcd not found: installing Debian's etcd-server"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends etcd-server; }
	$(BUN) run scripts/cluster.ts --bin $(BIN) $(CLUSTER_ARGS)

bench: build
	$(BUN) run bench/run.ts

soak: build
	STREAMCTL_SOAK=1 STREAMCTL_BIN=$(CURDIR)/$(BIN) $(BUN) run test/soak.ts

# Regenerates the Kafka protocol codec from the pinned schema JSON beside the project.
gen: node_modules/.installed
	$(BUN) run scripts/gen-protocol.ts ../shared/reference/kafka-messages net/protocol/messages

clean:
	rm -rf bin
