"""The probe module: minrepro adds it to Dramatiq's CLI as one more module, after the
application's own (or as the only one). It declares the probe actor on the global broker,
exactly as an application module declares its actors; the plumbing is beside it."""
import minrepro_framework

minrepro_framework.declare_probe()
