"""`iptables-assets run`: the driver (`driver.py`) goes through the stages of `stages.py` in order;
`execute.py` is the one place a job is executed (in this process or on Celery workers),
`fan_out.py` runs the per-day stage one run per day, `summary.py` tells what happened."""
