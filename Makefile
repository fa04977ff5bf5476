# The README's two commands: `make demo` (the main job) and `make test` (the whole suite).
.PHONY: demo test test-matrix sanity types units integration lint netbox-up netbox-down benchmark benchmark-releases benchmark-fresh changelog

demo:
	bash scripts/demo

test:
	bash scripts/test

# the integration stage on every NetBox release the collection supports, one after another, and
# the upgrade of a synced tree from the last django-mptt release to the newest
test-matrix:
	GEOFOSS_TEST_VERSIONS="$$(bash scripts/local-netbox releases)" bash scripts/test integration upgrade

sanity types units integration lint:
	bash scripts/test $@

netbox-up:
	bash scripts/local-netbox up

netbox-down:
	bash scripts/local-netbox down

benchmark:
	bash benchmarks/run

# the world import, its re-run and NetBox's raw ceiling on every supported release, one after another
benchmark-releases:
	bash benchmarks/run --netbox-versions "$$(bash scripts/local-netbox releases | tr ' ' ,)" --only world,ceiling

# `make test` twice on a freshly bootstrapped Debian (root; about as long as two runs plus the installs)
benchmark-fresh:
	bash benchmarks/fresh_machine

changelog:
	.venv/bin/antsibull-changelog lint
