"""Where the pipeline keeps its files, and how they are written and read safely."""
