import dramatiq

VALUE_2 = 2


@dramatiq.actor(queue_name="unseen-shop")
def job_2(x):
    return x + VALUE_2
