import dramatiq

VALUE_8 = 8


@dramatiq.actor(queue_name="unseen-shop")
def job_8(x):
    return x + VALUE_8
