import dramatiq

VALUE_19 = 19


@dramatiq.actor(queue_name="unseen-shop")
def job_19(x):
    return x + VALUE_19
