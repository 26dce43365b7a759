"""Query ranking with a learned model.

The model is big; web processes load it lazily on the first query. Processes that serve
many queries at once preload it at import when SEARCH_PRELOAD_RANKER=1, so that the first
user does not wait. Loading takes about 30 seconds (here simulated in short slices, the
way a chunked read of a large file proceeds).

What this case models: the deployment's environment file sets SEARCH_PRELOAD_RANKER=1 for
the web processes, and the CI job sources the same file. The worker imports
search.ranking for its re-ranking actor, so it spends half a minute loading the model
before it even starts consuming: the test's 10-second wait for its task runs out, and
the task is PENDING, stuck in `import:search.ranking`.
"""
import os
import time

from search import settings

LOAD_SECONDS = 30.0
PRELOAD = os.environ.get("SEARCH_PRELOAD_RANKER") == "1"

_model = None


def _load_model(path):
    weights = []
    deadline = time.monotonic() + LOAD_SECONDS
    chunk = 0
    while time.monotonic() < deadline:
        time.sleep(0.05)  # one chunk of the model file
        weights.append(chunk % 251)
        chunk += 1
    return {"path": path, "weights": weights}


def model():
    global _model
    if _model is None:
        _model = _load_model(settings.RANKER_PATH)
    return _model


def rerank(hits):
    weights = model()["weights"]
    return sorted(hits, key=lambda hit: hit.get("score", 0) * (1 + weights[0] / 1000), reverse=True)


if PRELOAD:
    model()
