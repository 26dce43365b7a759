"""Invoice rendering."""
import os

from invoicing.app import app


@app.task
def render_invoice(number, outbox):
    with open(os.path.join(outbox, "invoice-%s.txt" % number), "w") as invoice:
        invoice.write("Invoice %s: 120.00 EUR\n" % number)


@app.task
def ping():
    return "pong"
