"""Secrets for the payment provider, read from Vault.

The Vault token comes from PAYMENTS_VAULT_TOKEN. A developer running the service by hand
usually does not have it exported, so when it is missing the module asks for it on stdin,
the way a CLI tool would. Without a token (stdin at end of file, or an empty answer), it
falls back to the sandbox credentials checked into the repository.

What this case models: the integration-test fixture starts the worker with
Popen(..., stdin=PIPE, stdout=PIPE, stderr=PIPE) and never writes to stdin nor closes it,
and the CI job does not export the token. The import reads stdin, the read never returns
(no data, no end of file), and the worker never starts: PENDING at
`import:payments.secrets`. Launched with stdin from /dev/null, the read returns '' at once
and the worker runs on sandbox credentials.
"""
import os
import sys

VAULT_ADDR = os.environ.get("PAYMENTS_VAULT_ADDR", "https://vault.internal:8200")
SECRET_PATH = "secret/data/payments/provider"
SANDBOX_CREDENTIALS = {"api_key": "sk_test_sandbox", "webhook_secret": "whsec_sandbox"}


def _token():
    token = os.environ.get("PAYMENTS_VAULT_TOKEN")
    if token:
        return token
    sys.stderr.write(f"Vault token for {VAULT_ADDR} (empty for sandbox): ")
    sys.stderr.flush()
    return sys.stdin.readline().strip() if sys.stdin is not None else ""


def _credentials(token):
    if not token:
        return dict(SANDBOX_CREDENTIALS)
    # The real service reads SECRET_PATH from VAULT_ADDR with the token here.
    return {"api_key": f"vault:{SECRET_PATH}#api_key", "webhook_secret": f"vault:{SECRET_PATH}#webhook"}


CREDENTIALS = _credentials(_token())
