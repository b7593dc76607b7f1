"""Question in, answer with verified citations out: retrieval, prompt, generation, citations."""
