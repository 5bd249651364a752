"""``ember.viz``: pictures of what happens — the computation graph, model summaries, plots."""

from ember.viz.graph import Graph, draw_graph, recording_gradients
from ember.viz.plots import plot_history, plot_predictions
from ember.viz.summary import ModelSummary, summary

__all__ = [
    "Graph", "ModelSummary", "draw_graph", "plot_history", "plot_predictions",
    "recording_gradients", "summary",
]
