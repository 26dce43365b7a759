import dramatiq

VALUE_15 = 15


@dramatiq.actor(queue_name="unseen-shop")
def job_15(x):
    return x + VALUE_15
