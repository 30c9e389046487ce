"""Deterministic synthetic ``/var/log`` directory with an independent ground truth.

``generate_logs`` writes what a small Red Hat/Debian gateway would have in ``/var/log``
after some weeks of internet background noise:

* ``messages`` family (weekly, numeric rotation ``messages``, ``messages.1``, ``messages.2.gz`` ...):
  kernel lines (netfilter and other) plus other daemons (systemd, CRON, dhclient, chronyd, rsyslogd);
* ``kern.log`` family (every 10 days, dateext rotation ``kern.log-YYYYMMDD.gz``): exactly the
  same kernel lines, byte for byte, so every kernel event is written twice;
* ``secure`` family (weekly, numeric): sshd lines, a few of them forged to look like netfilter.

Nothing here imports the parser: the truth is computed from the simulated events themselves.
Everything is drawn from one ``random.Random(seed)``; the same arguments give identical bytes
(gzip headers and file mtimes are derived from the log contents, never from the clock).

Format notes for the parser: headers are ``Mmm dd HH:MM:SS host tag[pid]: `` in ``tz`` wall-clock
time (day space-padded, no year). Kernel lines are ``kernel: [%5d.%06d] <prefix>IN=...`` and end
with a space, as nf_log writes them; IPv6 addresses are uncompressed (``%pI6``). A repeat line is
``kernel: message repeated N times: [ <prefix>IN=... ]`` (no uptime inside) and stands for N
events; the identical message was logged once normally just before it. Malformed kernel lines
(truncated after ``DST=``, truncated inside ``MAC=``, ``SRC=999.x.y.z``, ``INCOMPLETE [n bytes]``,
``PROTO=2``) sit among the others in both kernel families; header-less garbage lines (a NUL run and
non-UTF-8 bytes) are in ``messages`` and ``kern.log``; forged sshd lines only in ``secure``.

``generate_fleet`` writes many such hosts under ``remote/<host>/`` as a central log host keeps them,
with shared attackers and planted horizontal scans, and a fleet truth (see ``fleet``, ``fleet_plan``
and ``fleet_truth``); ``iptables-assets generate --hosts N``.

Truth keys (``ground_truth.json``): params, tz, host, days, records_per_day, input_drops_per_day,
input_drops_per_port, input_drops_per_source, actions, rejects, rejects_per_day, ignored_lines_per_file, lines_per_file,
scanners, repeated_lines, repeated_events, files, sshd_per_kind, sshd_per_day, sshd_per_source; and
with ``digest_plants=True`` (``--digest-plants``, 30 days or more) ``digest``: what the daily
digest must find and must not (``digest_plants``). Run ``python -m iptables_assets.sample DIR``.

Modules: ``simulation`` draws everything in a fixed order over ``world`` (shared state), with
``background``, ``planted``, ``sshd_sessions`` and ``system_noise`` (``host``, ``internet`` and
``events`` hold the constants and records; ``digest_plants`` draws last, when asked);
``rendering`` turns events into syslog text; ``rotation`` writes the logrotate'd files;
``ground_truth`` counts from the events; ``varlog`` ties them together in ``generate_logs``.
"""

from iptables_assets.sample.events import NetfilterEvent, Simulation
from iptables_assets.sample.fleet import generate_fleet, host_names
from iptables_assets.sample.host import HOST_V4
from iptables_assets.sample.rendering import render_kernel_body, render_netfilter
from iptables_assets.sample.rotation import FAMILIES
from iptables_assets.sample.simulation import simulate
from iptables_assets.sample.varlog import generate_logs

__all__ = ["generate_logs", "generate_fleet", "host_names", "simulate", "render_netfilter", "render_kernel_body", "NetfilterEvent", "Simulation",
           "FAMILIES", "HOST_V4"]
