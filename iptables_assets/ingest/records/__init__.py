"""Records: what a line becomes. One package or module per log format (`firewall`, `sshd`)."""
