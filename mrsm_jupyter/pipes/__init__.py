"""Pipes: identity, parameters, normalization of batches and reporting of syncs."""
