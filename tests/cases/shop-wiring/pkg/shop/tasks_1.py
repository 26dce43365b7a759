import dramatiq

VALUE_1 = 1


@dramatiq.actor(queue_name="unseen-shop")
def job_1(x):
    return x + VALUE_1
