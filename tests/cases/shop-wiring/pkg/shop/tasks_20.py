import dramatiq

VALUE_20 = 20


@dramatiq.actor(queue_name="unseen-shop")
def job_20(x):
    return x + VALUE_20
