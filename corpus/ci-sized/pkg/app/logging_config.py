"""Logger levels for the noisy libraries; adds no handler of its own."""
import logging
import os

for name in ("urllib3", "botocore", "boto3", "s3transfer"):
    logging.getLogger(name).setLevel(logging.WARNING)
logging.getLogger("app").setLevel(os.environ.get("APP_LOG_LEVEL", "INFO"))
