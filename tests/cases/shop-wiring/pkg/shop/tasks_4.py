import dramatiq

VALUE_4 = 4


@dramatiq.actor(queue_name="unseen-shop")
def job_4(x):
    return x + VALUE_4
