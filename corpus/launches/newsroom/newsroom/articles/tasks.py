"""Articles' background work."""
import os

import dramatiq


@dramatiq.actor(queue_name="newsroom-articles")
def publish(slug, public_dir):
    """Publishes an article: renders it into the public folder."""
    with open(os.path.join(public_dir, slug + ".html"), "w") as page:
        page.write("<h1>%s</h1>\n" % slug.replace("-", " ").title())
