.PHONY: demo down test unit lint manifests bench bench-matching faults asyncapi screenshots image image-smoke

demo:  ## install, start everything, send a sample registration through all services
	bash scripts/demo.sh

down:  ## stop everything the demo started
	bash scripts/down.sh

test:  ## install what is needed, start a private broker and store, run every test
	bash scripts/test.sh

unit:  ## the unit tier only: in-memory fakes, starts no broker or store (needs only the venv)
	bash scripts/unit.sh

lint:  ## ruff (lint and format) and mypy, as CI runs them
	bash scripts/lint.sh

manifests:  ## render the kustomize overlays, validate them (incl. CRDs in deploy/crds), run checkov
	bash scripts/check_manifests.sh

bench:  ## start a private stack (test slot 7) and measure throughput, latency, memory: docs/operations.md
	bash scripts/bootstrap.sh && .venv/bin/python scripts/bench.py
	$(MAKE) bench-matching

bench-matching:  ## matching's production path: replay ratio, large pools, incremental p99, 100k passes (docs/matching.md)
	bash scripts/bootstrap.sh venv && .venv/bin/python -m bench.matching_bench

faults:  ## restart broker, store and every service under load, the SMTP server down 10 min, then lose RabbitMQ nodes of a cluster; nothing lost (docs/operations.md)
	bash scripts/bootstrap.sh && .venv/bin/python scripts/faults.py --smtp-outage 600 && .venv/bin/python scripts/faults.py --cluster

asyncapi:  ## regenerate docs/asyncapi.yaml from the contracts, then validate it with the reference parser
	.venv/bin/python -m services.common.asyncapi > docs/asyncapi.yaml
	bash scripts/check_asyncapi.sh

screenshots:  ## screenshots of the main pages (headless Debian chromium) into docs/screenshots
	FLOKK_ONLY=screenshots bash scripts/test.sh

image:  ## the one image (localhost/flokk:<version>) with Debian's buildah on a debootstrap base: README, "Image"
	bash scripts/image.sh build

image-smoke:  ## every service from the image (test slot 9 unless FLOKK_TEST_SLOT), one registration to its receipt
	bash scripts/image.sh smoke
