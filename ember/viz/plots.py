"""Training plots with matplotlib, on the headless-safe Agg backend."""

from __future__ import annotations

__all__ = ["plot_history", "plot_predictions"]


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "ember.viz plots need matplotlib: pip install 'ember[demo]' (or pip install matplotlib)"
        ) from None
    import sys

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # headless-safe; a session that already chose a backend keeps it
    import matplotlib.pyplot as plt

    return plt


def plot_history(history, path, title: str = "Training", log_scale: bool = False,
                 xlabel: str = "epoch") -> str:
    """Plot one or more metric curves and save the figure to ``path`` (PNG, SVG, PDF...).

    Args:
        history: a list of values, or a dict mapping each metric's name to its values.
        path: where to write the picture.
        log_scale: a logarithmic y axis (useful for losses).

    Example::

        >>> ember.viz.plot_history({"loss": losses}, "loss.png", log_scale=True)
    """
    plt = _pyplot()
    curves = history if isinstance(history, dict) else {"loss": list(history)}
    figure, axis = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for name, values in curves.items():
        values = [float(v) for v in values]
        axis.plot(range(1, len(values) + 1), values, label=name, linewidth=1.6)
    axis.set_xlabel(xlabel)
    axis.set_title(title)
    if log_scale:
        axis.set_yscale("log")
    axis.grid(True, alpha=0.3)
    if len(curves) > 1 or not isinstance(history, list):
        axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return str(path)


def plot_predictions(labels, outputs, targets, path, title: str = "Predictions") -> str:
    """Bar chart of the network's outputs beside the targets, one pair per input."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    positions = range(len(labels))
    width = 0.38
    axis.bar([p - width / 2 for p in positions], targets, width, label="target", color="#9e9e9e")
    axis.bar([p + width / 2 for p in positions], outputs, width, label="output", color="#e4572e")
    axis.set_xticks(list(positions))
    axis.set_xticklabels(labels)
    axis.set_ylim(0, 1.05)
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return str(path)
