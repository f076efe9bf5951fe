"""Reports a person would rather look at than read: standalone HTML with tables, charts and images, and PNG plots.

matplotlib (for the PNG plots) is imported only when a plot is drawn.
"""

from odkit.report._evaluation import evaluation_sections as evaluation_sections
from odkit.report._evaluation import write_evaluation_report as write_evaluation_report
from odkit.report._gallery import ImageErrors as ImageErrors
from odkit.report._gallery import image_errors as image_errors
from odkit.report._gallery import side_by_side as side_by_side
from odkit.report._gallery import worst_first as worst_first
from odkit.report._html import heatmap_table as heatmap_table
from odkit.report._html import html_table as html_table
from odkit.report._html import image_tag as image_tag
from odkit.report._html import svg_bars as svg_bars
from odkit.report._html import svg_lines as svg_lines
from odkit.report._html import write_html as write_html
from odkit.report._plots import plot_evaluation as plot_evaluation
from odkit.report._plots import plot_training as plot_training
from odkit.report._run import write_run_report as write_run_report

__all__ = [
    "ImageErrors",
    "evaluation_sections",
    "heatmap_table",
    "html_table",
    "image_errors",
    "image_tag",
    "plot_evaluation",
    "plot_training",
    "side_by_side",
    "svg_bars",
    "svg_lines",
    "worst_first",
    "write_evaluation_report",
    "write_html",
    "write_run_report",
]
