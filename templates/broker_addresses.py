# Where a broker client is connected, as one URL (credentials included: whoever reads it
# redacts them). Shared by capture's hook (where the launch sent its messages) and a trial's
# isolation (which servers it must sweep after the worker): both must name one server the same
# way, or a trial would look for the launch's destination under another name. Prepended to
# both; each name says whose it is, since the hook runs inside the user's processes.

from urllib.parse import quote as _minrepro_quote


def minrepro_url(scheme, host, port, vhost, user, password):
    """A broker's URL from its parts; the vhost or database is quoted whole (`/` is `%2F`),
    an unnamed vhost is `/` (Redis's database 0 stays 0)."""
    if vhost is None or vhost == "":
        vhost = "/"
    auth = ""
    if user is not None:
        auth = "%s:%s@" % (_minrepro_quote(user or "", safe=""), _minrepro_quote(password or "", safe=""))
    return "%s://%s%s:%s/%s" % (scheme, auth, host, port, _minrepro_quote(str(vhost), safe=""))


def minrepro_pika_url(parameters):
    """The URL of pika's connection parameters (a channel's, or a Dramatiq RabbitmqBroker's)."""
    if parameters is None:
        return None
    credentials = getattr(parameters, "credentials", None)
    return minrepro_url(
        "amqps" if getattr(parameters, "ssl_options", None) else "amqp",
        parameters.host,
        parameters.port,
        parameters.virtual_host,
        getattr(credentials, "username", None),
        getattr(credentials, "password", None),
    )


def minrepro_pika_channel_url(channel):
    return minrepro_pika_url(getattr(getattr(channel, "connection", None), "params", None))


def minrepro_py_amqp_channel_url(channel):
    """The URL of a py-amqp channel's connection (kombu's pyamqp transport, Celery's default)."""
    connection = getattr(channel, "connection", None)
    if connection is None:
        return None
    host, _, port = str(connection.host).rpartition(":")
    user = password = None
    for method in getattr(connection, "authentication", ()):
        if getattr(method, "username", None) is not None:
            user, password = method.username, getattr(method, "password", None)
            break
    if isinstance(user, bytes):
        user = user.decode()
    if isinstance(password, bytes):
        password = password.decode()
    return minrepro_url("amqp", host or connection.host, port or 5672, connection.virtual_host, user, password)


def minrepro_redis_url(pool):
    """The URL of a redis-py connection pool's server and database; a Unix socket's path."""
    options = pool.connection_kwargs
    if options.get("path"):
        return "unix://%s?db=%s" % (options["path"], options.get("db", 0))
    connection_class = getattr(pool, "connection_class", type(None))
    return minrepro_url(
        "rediss" if "SSL" in connection_class.__name__ else "redis",
        options.get("host", "localhost"),
        options.get("port", 6379),
        options.get("db", 0),
        options.get("username") or ("" if options.get("password") else None),
        options.get("password"),
    )
