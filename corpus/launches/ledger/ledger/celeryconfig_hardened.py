# The hardened configuration the security review asked for in CI: JSON only.
from ledger.celeryconfig import *  # noqa: F401,F403

accept_content = ["json"]
