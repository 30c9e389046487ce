"""The stages and their jobs. Every asset carries the tag of its stage (`in_stage`), declared where
the asset is; each job of `iptables-assets run` selects one stage's assets by that tag, so a new
asset is built by the run as soon as it names its stage (a test checks that the stages' jobs
cover every asset exactly once). The schedule's and the sensor's job is the inventory and the
ingest of the days they ask for; automation does the rest."""

import dagster as dg

STAGE_TAG = "stage"
INVENTORY, DAILY, HISTORY, FRAMES, PUBLISH = "inventory", "daily", "history", "frames", "publish"
STAGES = (INVENTORY, DAILY, HISTORY, FRAMES, PUBLISH)  # in the order `iptables-assets run` builds them

INVENTORY_JOB, INGEST_JOB, DAILY_JOB = "inventory_job", "ingest_job", "daily_job"
HISTORY_JOB, FRAMES_JOB, PUBLISH_JOB = "history_job", "frames_job", "publish_job"
# The groups the UI shows the assets in.
INGEST_GROUP, ENRICH_GROUP, ANALYSIS_GROUP, PUBLISH_GROUP = "ingest", "enrich", "analysis", "publish"


def in_stage(stage: str) -> dict[str, str]:
    """The tags that put an asset in `stage`."""
    if stage not in STAGES:
        raise ValueError(f"{stage!r} is not a stage; use one of {', '.join(STAGES)}")
    return {STAGE_TAG: stage}


def stage_assets(stage: str) -> dg.AssetSelection:
    """The assets of `stage`."""
    return dg.AssetSelection.tag(STAGE_TAG, stage)


# The file list and the country table.
inventory_job = dg.define_asset_job(INVENTORY_JOB, selection=stage_assets(INVENTORY))
# The schedule's and the sensor's: the inventory and country table, then the days asked for.
ingest_job = dg.define_asset_job(INGEST_JOB, selection=stage_assets(INVENTORY)
                                 | (stage_assets(DAILY) & dg.AssetSelection.groups(INGEST_GROUP)))
# Every per-day table of a window, as one single-run backfill.
daily_job = dg.define_asset_job(DAILY_JOB, selection=stage_assets(DAILY))
# The whole-history tables, the figures and a fleet's host pages.
history_job = dg.define_asset_job(HISTORY_JOB, selection=stage_assets(HISTORY))


def _frames_job(executor_def: dg.ExecutorDefinition):
    """The films' frames of a window: independent steps, drawn in parallel processes (or on the
    Celery workers)."""
    return dg.define_asset_job(FRAMES_JOB, selection=stage_assets(FRAMES), executor_def=executor_def)


frames_job = _frames_job(dg.multiprocess_executor)
# The films and the journal page, once every figure and frame exists.
publish_job = dg.define_asset_job(PUBLISH_JOB, selection=stage_assets(PUBLISH))

JOBS = [inventory_job, ingest_job, daily_job, history_job, frames_job, publish_job]
STAGE_JOBS = {INVENTORY: INVENTORY_JOB, DAILY: DAILY_JOB, HISTORY: HISTORY_JOB, FRAMES: FRAMES_JOB,
              PUBLISH: PUBLISH_JOB}


def build_jobs(executor_def: dg.ExecutorDefinition | None = None) -> list:
    """The jobs; with `executor_def` (the Celery executor) the frames job uses it too. The
    others have no executor of their own: they take the definitions' executor, which is the
    same one (`build_definitions`), so the schedule and sensors keep their `ingest_job`."""
    if executor_def is None:
        return JOBS
    return [job if job.name != FRAMES_JOB else _frames_job(executor_def) for job in JOBS]
