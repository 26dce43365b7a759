import os

from ledger.app import app


@app.task
def post_entry(account, cents, outbox):
    with open(os.path.join(outbox, "%s.entry" % account), "w") as entry:
        entry.write("%s %d\n" % (account, cents))
