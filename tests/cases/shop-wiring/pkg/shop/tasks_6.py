import dramatiq

VALUE_6 = 6


@dramatiq.actor(queue_name="unseen-shop")
def job_6(x):
    return x + VALUE_6
