"""Lines: the compiled scan of syslog headers and netfilter fields, and every line's time."""
