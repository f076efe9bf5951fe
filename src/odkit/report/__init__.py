"""Reports a person would rather look at than read: standalone HTML with tables, charts and images."""

from odkit.report._evaluation import write_evaluation_report as write_evaluation_report
from odkit.report._html import heatmap_table as heatmap_table
from odkit.report._html import html_table as html_table
from odkit.report._html import image_tag as image_tag
from odkit.report._html import svg_bars as svg_bars
from odkit.report._html import svg_lines as svg_lines
from odkit.report._html import write_html as write_html

__all__ = [
    "heatmap_table",
    "html_table",
    "image_tag",
    "svg_bars",
    "svg_lines",
    "write_evaluation_report",
    "write_html",
]
