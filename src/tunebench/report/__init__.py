"""The analysis pipeline: trial table → statistics files → figures → ``summary.md``.

:func:`compare` writes the statistics files of one budget
(:data:`~tunebench.core.outputs.STATS_FILES`),
:func:`plot` draws the figures from them (:data:`~tunebench.core.outputs.FIGURE_FILES`) and
:func:`summarise` writes the Markdown summary (:func:`render_summary`); :func:`export_coco` writes
the BBOB trials as COCO data folders. Imports
:mod:`tunebench.core`, :mod:`tunebench.stats` and :mod:`tunebench.plots` only.
"""

from tunebench.report._coco import export_coco
from tunebench.report._pipeline import compare, plot, slice_at, summarise
from tunebench.report._summary import render_summary

__all__ = ["compare", "export_coco", "plot", "render_summary", "slice_at", "summarise"]
