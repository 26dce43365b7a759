import dramatiq

VALUE_7 = 7


@dramatiq.actor(queue_name="unseen-shop")
def job_7(x):
    return x + VALUE_7
