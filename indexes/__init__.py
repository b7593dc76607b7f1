"""What is stored and how it is searched: embedder, vectors, chunk store, keyword index."""
