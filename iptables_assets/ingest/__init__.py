"""Ingest: log files -> lines -> records (firewall events and rejects, sshd events), per day.

The folders follow the path of a line:

- `files/`: the log files on disk. `finding` (which files under the log folder are logs, and why
  each other file is not read), `logfiles` (a file, its rotation family, its content as chunks of
  whole lines; `decompression` decodes gzip/bz2/xz and salvages damaged files, `journal_files`
  reads systemd journals through journalctl), `inventory` and `dating` (every file's span and
  year anchor), `journal_coverage` (what a journal covers, so its lines count once), `watching`
  (which days changed since the last look).
- `lines/`: a chunk of lines -> one row per line. `scanner` is the compiled (numba) scan of
  syslog headers and netfilter fields and nothing else; `columns` turns its arrays into a polars
  frame; `syslog` resolves RFC 3164 years, journald JSON and "message repeated" wrappers;
  `timeline` gives every line its time, the same way for every kind of record.
- `records/`: what a line becomes, one place per log format. `records/firewall/` (netfilter LOG
  lines: `classify` -> `file_parse` / `day_routing` -> `merging` / `day_merge`; `parsing` is its
  public entry) and `records/sshd.py` (sshd lines; what they mean is `analysis.sshd`'s).
- `parse_config` (how files are read: time zone, trusted programs, chunk size) and `parse_cache`
  (a file read once is kept as its day pieces and linked by later runs, keyed by a digest of the
  source of every module here, so an edit to the parsing code needs no version bump).

A new log format is one new module (or package) under `records/` plus its tests: it reads its
files' lines through `lines.timeline.scanned_lines` / `with_line_times` (times and years as for
every other format), and, to be read once across runs, leaves its day pieces through
`ParseCache.pieces` (as `records/sshd.py` does). A new syslog header or netfilter field is a
change to `lines/scanner.py` (and `lines/columns.py` for a new column) plus its tests.
"""
