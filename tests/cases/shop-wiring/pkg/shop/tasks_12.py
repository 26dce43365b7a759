import dramatiq

VALUE_12 = 12


@dramatiq.actor(queue_name="unseen-shop")
def job_12(x):
    return x + VALUE_12
