"""The orders service: takes orders from the web shop and fulfils them in background jobs."""
