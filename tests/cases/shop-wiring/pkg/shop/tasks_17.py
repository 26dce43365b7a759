import dramatiq

VALUE_17 = 17


@dramatiq.actor(queue_name="unseen-shop")
def job_17(x):
    return x + VALUE_17
