import os


def build_export(account, outbox):
    with open(os.path.join(outbox, "%s.csv" % account), "w") as export:
        export.write("date,amount\n")
