import dramatiq

VALUE_3 = 3


@dramatiq.actor(queue_name="unseen-shop")
def job_3(x):
    return x + VALUE_3
