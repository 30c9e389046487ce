"""Publish: the figures, the films (a frame per day, a GIF each) and the journal page, all made
from the registry in `iptables_assets.publish.catalog`."""

import dagster as dg

from iptables_assets.defs.publish.figures import figure_assets
from iptables_assets.defs.publish.films import film_assets
from iptables_assets.defs.publish.host_pages import fleet_pages
from iptables_assets.defs.publish.journal import journal_report
from iptables_assets.defs.publish.source_pages import source_page_list


def build(daily: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """Every figure, frame, GIF, the fleet's host pages, the source pages and the journal page."""
    return [*figure_assets(), *film_assets(daily), fleet_pages, source_page_list, journal_report]
