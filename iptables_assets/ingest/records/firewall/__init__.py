"""Firewall records: netfilter LOG lines -> events and rejects, per file and per day."""
