import dramatiq

VALUE_10 = 10


@dramatiq.actor(queue_name="unseen-shop")
def job_10(x):
    return x + VALUE_10
