import dramatiq

VALUE_18 = 18


@dramatiq.actor(queue_name="unseen-shop")
def job_18(x):
    return x + VALUE_18
