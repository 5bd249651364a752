"""Jacobians, Hessians and their products (to be written)."""
