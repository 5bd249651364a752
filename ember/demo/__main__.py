"""Command line: ``python -m ember.demo nand [--epochs N] [--lr LR] [--seed S] ...``."""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ember-demo", description=__doc__)
    parser.add_argument("demo", nargs="?", choices=["nand"], help="which demo to run")
    parser.add_argument("--list", action="store_true", help="list the demos")
    parser.add_argument("--epochs", type=int, default=4000)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.list or args.demo is None:
        print("nand    the blog's 2-3-1 sigmoid network learning the NAND gate")
        return 0
    from ember.demo import nand

    model, losses = nand.train(args.epochs, args.lr, args.seed, args.optimizer)
    print(f"final loss after {args.epochs} epochs: {losses[-1]:.6f}")
    print(nand.truth_table(model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
