"""iptables_assets: firewall (netfilter) logs -> a daily traffic journal, orchestrated by Dagster."""
