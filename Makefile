# The README's two commands: `make demo` (the main job) and `make test` (the whole suite).
.PHONY: demo test test-matrix sanity types units integration lint netbox-up netbox-down benchmark changelog

demo:
	bash scripts/demo

test:
	bash scripts/test

# the integration stage on every NetBox release the collection supports, one after another
test-matrix:
	GEOFOSS_TEST_VERSIONS="$$(bash scripts/local-netbox releases)" bash scripts/test integration

sanity types units integration lint:
	bash scripts/test $@

netbox-up:
	bash scripts/local-netbox up

netbox-down:
	bash scripts/local-netbox down

benchmark:
	bash benchmarks/run

changelog:
	.venv/bin/antsibull-changelog lint
