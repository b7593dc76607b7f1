"""Measuring Coffre: retrieval on BEIR-style datasets, answers on a question set.

Only what needs no ingestion lives here (datasets, metrics, scoring, comparing models over
the Answerer); building the throwaway index of an evaluation corpus is the CLI's job.
"""
