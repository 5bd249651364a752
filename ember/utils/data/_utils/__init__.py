"""Helpers of the data loader: collation and worker processes."""
