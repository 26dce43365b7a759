broker_url = "amqp://guest:guest@127.0.0.1:5672//"
imports = ["catalog.tasks.products", "catalog.tasks.search"]
task_default_queue = "catalog"
