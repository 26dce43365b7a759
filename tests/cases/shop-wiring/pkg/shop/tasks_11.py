import dramatiq

VALUE_11 = 11


@dramatiq.actor(queue_name="unseen-shop")
def job_11(x):
    return x + VALUE_11
