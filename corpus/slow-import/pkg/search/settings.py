"""Search settings from the environment."""
import os

INDEX_NAME = os.environ.get("SEARCH_INDEX", "products")
ELASTIC_URL = os.environ.get("SEARCH_ELASTIC_URL", "http://localhost:9200")
BATCH_SIZE = int(os.environ.get("SEARCH_BATCH_SIZE", "500"))
RANKER_PATH = os.environ.get("SEARCH_RANKER_PATH", "/srv/models/ranker-v3.bin")
