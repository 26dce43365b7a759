import dramatiq

VALUE_5 = 5


@dramatiq.actor(queue_name="unseen-shop")
def job_5(x):
    return x + VALUE_5
