"""Files in, chunks out: parsing, chunking and ingestion jobs."""
