# Settings for the test runs. (The search tasks were added after this file was written.)
broker_url = "amqp://guest:guest@127.0.0.1:5672//"
imports = ["catalog.tasks.products"]
task_default_queue = "catalog"
