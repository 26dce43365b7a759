import dramatiq

VALUE_16 = 16


@dramatiq.actor(queue_name="unseen-shop")
def job_16(x):
    return x + VALUE_16
