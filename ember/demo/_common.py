"""What the demos share: the progress bar and the output folder."""

from __future__ import annotations

import os
import sys


def progress_bar(total: int, description: str, quiet: bool):
    """A tqdm bar on a terminal; silent with ``quiet`` or when output is not a terminal."""
    from tqdm.auto import tqdm

    disable = quiet or not sys.stderr.isatty()
    return tqdm(total=total, desc=description, disable=disable, leave=False, dynamic_ncols=True)


def output_path(folder: str, name: str) -> str:
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name)


def say(text: str, quiet: bool = False) -> None:
    if not quiet:
        print(text)
