import dramatiq

VALUE_9 = 9


@dramatiq.actor(queue_name="unseen-shop")
def job_9(x):
    return x + VALUE_9
