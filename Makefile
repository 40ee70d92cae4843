# Convenience targets; each one wraps an npm script or a standard tool, so `make` is optional.
.DEFAULT_GOAL := help

IMAGE ?= tsmetrics
TAG   ?= latest

# What check-deploy validates (test/unit/deploy.test.ts checks that these lists name every file there).
KUSTOMIZATIONS     := base overlays/development overlays/production overlays/sharded overlays/workload-identity
PROMETHEUS_CONFIGS := prometheus.yaml prometheus-sharded.yaml prometheus-devices.yaml

.PHONY: help build test lint run demo docker docker-run check-deploy clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## compile TypeScript to dist/
	npm run build

test: ## build and run the whole test suite (installs promtool via apt when missing)
	npm test

lint: ## type-check without emitting
	npm run lint

run: ## run the exporter with the environment (and ./.env when present)
	npm start

demo: ## run on the built-in simulated tailnet (no credentials needed)
	npm run demo

docker: ## build the container image ($(IMAGE):$(TAG))
	docker build -t $(IMAGE) .
	@if [ "$(TAG)" != "latest" ]; then docker tag $(IMAGE) $(IMAGE):$(TAG); fi

docker-run: ## run the image on the simulated tailnet, on port 9100
	docker run --rm -p 127.0.0.1:9100:9100 $(IMAGE) --demo

check-deploy: ## validate deploy/: alert rules + tests, scrape configs, kustomize overlays, helm (if installed)
	promtool check rules deploy/prometheus/alerts.yaml
	promtool test rules deploy/prometheus/alerts.test.yaml
	@# The scrape configs read the bearer token from /etc/prometheus/tsmetrics-token, which promtool wants
	@# to exist: check copies that point at a temporary token file instead.
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && touch "$$tmp/tsmetrics-token" && \
	  cp deploy/prometheus/alerts.yaml "$$tmp/" && \
	  for f in $(PROMETHEUS_CONFIGS); do \
	    sed "s#/etc/prometheus/tsmetrics-token#$$tmp/tsmetrics-token#" deploy/prometheus/$$f > "$$tmp/$$f" && \
	    echo "promtool check config deploy/prometheus/$$f" && \
	    promtool check config "$$tmp/$$f" > /dev/null || exit 1; \
	  done
	@for o in $(KUSTOMIZATIONS); do \
	  echo "kubectl kustomize deploy/kustomize/$$o"; \
	  kubectl kustomize deploy/kustomize/$$o > /dev/null || exit 1; \
	done
	@if command -v helm > /dev/null; then \
	  helm lint deploy/helm && helm lint deploy/helm --set sharding.enabled=true --set persistence.enabled=true && helm lint deploy/helm --set tailscale.workloadIdentity.enabled=true --set tailscale.oauthClientId=kExample; \
	else echo "helm not installed: skipping helm lint"; fi

clean: ## remove build output
	rm -rf dist coverage
