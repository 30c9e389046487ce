"""The Dagster layer of iptables_assets."""

import warnings

# Single-run backfills (`backfill_policy`) are a beta Dagster feature this project relies on on
# purpose; the warning says nothing a user can act on, once per process and step worker.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy` .* is currently in beta")
