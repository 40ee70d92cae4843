# Convenience targets; each one wraps an npm script or a standard tool, so `make` is optional.
.DEFAULT_GOAL := help

IMAGE ?= tsmetrics
TAG   ?= latest

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

check-deploy: ## validate deploy/: alert rules + tests, scrape config, kustomize overlays, helm (if installed)
	promtool check rules deploy/prometheus/alerts.yaml
	promtool test rules deploy/prometheus/alerts.test.yaml
	promtool check config deploy/prometheus/prometheus.yaml
	@for o in base overlays/development overlays/production; do \
	  echo "kubectl kustomize deploy/kustomize/$$o"; \
	  kubectl kustomize deploy/kustomize/$$o > /dev/null || exit 1; \
	done
	@if command -v helm > /dev/null; then helm lint deploy/helm; else echo "helm not installed: skipping helm lint"; fi

clean: ## remove build output
	rm -rf dist coverage
