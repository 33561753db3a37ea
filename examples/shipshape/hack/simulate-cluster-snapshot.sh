#!/bin/sh
# Regenerates evidence/cluster-snapshot.yaml: SIMULATED cluster state for offline audits of this
# example — the rendered prod overlay as a cluster would hold it after a healthy rollout, plus
# the controller's leader Lease. It is not a recording of any cluster; the file's header says so
# and every shipshape report labels it SIMULATED. A test (tests/example.rs) regenerates it and
# fails if the committed file differs.
#
# The time it stands for is fixed (the example's pinned audit time in tests, --now
# 2026-11-26T12:00:00Z), so the file is reproducible. An audit run later sees an old snapshot:
# past [cluster] max_snapshot_age (24 h) its cluster rules are pending, as they should be.
# To audit a real cluster, record it instead:  shipshape snapshot --context NAME -o FILE
set -eu
cd "$(dirname "$0")/.."
exec "${SHIPSHAPE:-shipshape}" snapshot . \
  --simulate k8s/overlays/prod \
  --leader-lease shipshape-controller=shipshape-controller \
  --now 2026-11-26T12:00:00Z \
  --out evidence/cluster-snapshot.yaml
