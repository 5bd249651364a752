"""``python -m ember.demo NAME``: small end-to-end programs that show ember at work.

Run ``python -m ember.demo --list`` to see them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import ember

# name -> (module, one-line description)
DEMOS = {
    "nand": ("ember.demo.nand:run", "the blog's 2-3-1 sigmoid network learning the NAND gate"),
    "digits-mlp": ("ember.demo.digits:run_mlp", "an MLP on scikit-learn's 8x8 handwritten digits"),
    "digits-cnn": ("ember.demo.digits:run_cnn",
                   "a small CNN on scikit-learn's 8x8 handwritten digits"),
    "charlm": ("ember.demo.charlm:run",
               "a character-level transformer trained on a text shipped with Python"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ember-demo", description=__doc__.splitlines()[0])
    parser.add_argument("demo", nargs="?", choices=sorted(DEMOS), help="which demo to run")
    parser.add_argument("--list", action="store_true", help="list the demos and exit")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs")
    parser.add_argument("--lr", type=float, default=None, help="learning rate")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--out", default=".", help="folder for the pictures (default: here)")
    parser.add_argument("--log-scale", action="store_true", help="logarithmic loss axis")
    parser.add_argument("--batch-size", type=int, default=32, help="(global) batch size")
    parser.add_argument("--distributed", action="store_true",
                        help="digits demos: train across the processes of `mpirun -np N`")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--device", default="cpu",
                        help="where to train: cpu (default), cuda or cuda:N (needs CuPy)")
    return parser


DEFAULTS = {
    "nand": {"epochs": 4000, "lr": 0.5},
    "digits-mlp": {"epochs": 30, "lr": 1e-3},
    "digits-cnn": {"epochs": 15, "lr": 3e-3},
    "charlm": {"epochs": 300, "lr": 3e-3},
}


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list or args.demo is None:
        for name, (_, description) in DEMOS.items():
            print(f"{name:<12} {description}")
        return 0
    for key, value in DEFAULTS.get(args.demo, {}).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    module_name, function = DEMOS[args.demo][0].split(":")
    demo = getattr(importlib.import_module(module_name), function)
    previous = ember.get_default_device()
    ember.set_default_device(args.device)  # the demo's tensors and parameters are made there
    try:
        return demo(args)
    finally:
        ember.set_default_device(previous)


if __name__ == "__main__":
    sys.exit(main())
