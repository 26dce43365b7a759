import time

import dramatiq


def test_an_article_is_published_by_the_worker(rabbitmq, worker, tmp_path):
    message = dramatiq.Message(
        queue_name="newsroom-articles",
        actor_name="publish",
        args=("hello-world", str(tmp_path)),
        kwargs={},
        options={},
    )
    rabbitmq.enqueue(message)
    page = tmp_path / "hello-world.html"
    deadline = time.time() + 8
    while time.time() < deadline and not page.exists():
        time.sleep(0.1)
    assert page.exists(), "the article stayed pending"
