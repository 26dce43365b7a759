import dramatiq

VALUE_14 = 14


@dramatiq.actor(queue_name="unseen-shop")
def job_14(x):
    return x + VALUE_14
