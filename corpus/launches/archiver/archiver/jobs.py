import os


def archive_document(name, outbox):
    open(os.path.join(outbox, "%s.tar" % name), "w").close()
