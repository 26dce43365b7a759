broker_url = "amqp://guest:guest@127.0.0.1:5672//"
task_default_queue = "ledger"
# Amounts travel as msgpack: smaller than JSON on the wire.
task_serializer = "msgpack"
accept_content = ["json", "msgpack"]
