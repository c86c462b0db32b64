"""Evaluation harness: scores newsclean and baseline extractors on the WCXB benchmark pages."""
