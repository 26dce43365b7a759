"""The unit tests' settings: tasks run eagerly, in the test's own process, and nothing
needs a broker (kombu's in-memory transport)."""
broker_url = "memory://"
task_always_eager = True
task_eager_propagates = True
task_default_queue = "storefront-orders"
task_ignore_result = True
