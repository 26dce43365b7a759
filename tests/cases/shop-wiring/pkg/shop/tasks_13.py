import dramatiq

VALUE_13 = 13


@dramatiq.actor(queue_name="unseen-shop")
def job_13(x):
    return x + VALUE_13
